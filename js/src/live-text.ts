/**
 * The delivery protocol's state machine (docs/protocol.md), with no DOM and no model:
 * it takes one kernel message at a time and says what the caller must do.
 * Keeping it pure lets the tests drive every edge of the protocol directly.
 */
import type { KernelMessage, Traits } from "./types";

/** What the caller must do after a message. */
export type Effect =
	/** Nothing changed (stale, duplicate or ignored message). */
	| { kind: "none" }
	/** The text grew; show it. */
	| { kind: "text" }
	/** We lost track of the text: ask the kernel for all of it. */
	| { kind: "resync"; stream: number }
	/** The stream's final (or re-synced) state: put it on the model in one set. */
	| { kind: "commit"; state: Pick<Traits, "content" | "is_streaming" | "error"> };

const NONE: Effect = { kind: "none" };

export class LiveText {
	#text: string;
	#awaitingSync = false;

	constructor(text = "") {
		this.#text = text;
	}

	/** The text held so far. Offsets in messages are indices into it (UTF-16 code units). */
	get text(): string {
		return this.#text;
	}

	/** True between asking for a resync and receiving the `sync`. */
	get awaitingSync(): boolean {
		return this.#awaitingSync;
	}

	/** Start over from known content: a new stream began, or the kernel set `content`. */
	reset(text: string): void {
		this.#text = text;
		this.#awaitingSync = false;
	}

	/**
	 * Apply one message. `stream` is the model's current `_stream`: messages of any
	 * other stream are late leftovers of an old stream (or early ones of a stream whose
	 * state update we have not seen), and must not touch this text.
	 */
	receive(message: unknown, stream: number): Effect {
		if (!isKernelMessage(message) || message.stream !== stream) return NONE;
		if (message.kind === "sync") {
			this.reset(message.content);
			return {
				kind: "commit",
				state: {
					content: message.content,
					is_streaming: message.is_streaming,
					error: message.error ?? null,
				},
			};
		}
		// Until the sync arrives, our text has a hole; anything applied now would be wrong.
		if (this.#awaitingSync) return NONE;
		const applied = this.#append(message.offset, message.text);
		if (applied === "gap") return this.#requestResync(stream);
		if (message.kind === "delta") return applied === "grew" ? { kind: "text" } : NONE;
		if (this.#text.length !== message.length) return this.#requestResync(stream);
		return {
			kind: "commit",
			state: { content: this.#text, is_streaming: false, error: message.error ?? null },
		};
	}

	#append(offset: number, text: string): "grew" | "held" | "gap" {
		const held = this.#text.length;
		if (offset > held) return "gap";
		const end = offset + text.length;
		if (end <= held) return "held";
		// A view that loaded its state mid-stream may already hold the start of this delta.
		this.#text += text.slice(held - offset);
		return "grew";
	}

	#requestResync(stream: number): Effect {
		this.#awaitingSync = true;
		return { kind: "resync", stream };
	}
}

/** The kernel is trusted, but a malformed message must not corrupt the text. */
function isKernelMessage(value: unknown): value is KernelMessage {
	if (typeof value !== "object" || value === null) return false;
	const m = value as Record<string, unknown>;
	if (typeof m.stream !== "number") return false;
	const isError = (v: unknown): boolean => v === null || v === undefined || typeof v === "string";
	switch (m.kind) {
		case "delta":
			return isOffset(m.offset) && typeof m.text === "string";
		case "end":
			return isOffset(m.offset) && typeof m.text === "string" && isOffset(m.length) && isError(m.error);
		case "sync":
			return typeof m.content === "string" && typeof m.is_streaming === "boolean" && isError(m.error);
		default:
			return false;
	}
}

function isOffset(value: unknown): value is number {
	return Number.isInteger(value) && (value as number) >= 0;
}
