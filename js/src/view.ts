/**
 * One view of a model: builds the DOM once, then redraws from the model's attributes
 * at most once per animation frame, however many deltas arrive in between.
 */
import { element, liveRegion, setText, waitingDots } from "./dom";
import { animationFrames, FrameLoop, type FrameScheduler } from "./frames";
import { MarkdownView } from "./markdown-view";
import type { StreamModel } from "./types";

export { animationFrames, type FrameScheduler } from "./frames";

const WATCHED = [
	"change:content",
	"change:is_streaming",
	"change:error",
	"change:_stream",
	"change:allow_images",
	"change:finish_reason",
	"change:usage",
	"change:refusal",
];

/** After this long without new text mid-stream, the view says it is still waiting. */
export const STALL_MS = 3000;

/** Finish reasons worth telling the reader about: the answer is not what it seems. */
const FLAGS: Record<string, string> = {
	length: "Cut off: the answer reached the token limit.",
	content_filter: "Stopped by the provider's content filter.",
};

export class StreamView {
	readonly root: HTMLDivElement;
	readonly #model: StreamModel;
	readonly #frames: FrameLoop;
	readonly #markdown: MarkdownView;
	readonly #waiting: HTMLDivElement;
	readonly #status: HTMLDivElement;
	readonly #footer: HTMLDivElement;
	readonly #refusal: HTMLDivElement;
	#error: HTMLDivElement | null = null;
	#stallTimer: ReturnType<typeof setTimeout> | null = null;
	#lastText = "";
	/** The stream this view saw running and has not yet announced the end of. */
	#running: number | null = null;

	constructor(model: StreamModel, parent: HTMLElement, scheduler: FrameScheduler = animationFrames) {
		this.#model = model;

		this.root = element("div", "nbstream-view");
		const body = element("div", "nbstream-body");
		this.#markdown = new MarkdownView(body);

		this.#waiting = waitingDots();

		this.#status = liveRegion("nbstream-status nbstream-sr-only");

		this.#refusal = element("div", "nbstream-refusal");
		this.#footer = element("div", "nbstream-footer");

		this.root.append(body, this.#status);
		parent.append(this.root);

		this.#frames = new FrameLoop(model, WATCHED, () => this.#draw(), scheduler);
		// The first paint is synchronous, so a re-rendered output never flashes empty.
		this.flush();
	}

	/** Redraw now from the model's current attributes. */
	flush(): void {
		this.#frames.flush();
	}

	#draw(): void {
		const model = this.#model;
		const text = model.get("content") ?? "";
		const streaming = Boolean(model.get("is_streaming"));
		const error = model.get("error") || null;

		this.root.dataset.streaming = String(streaming);
		if (streaming) this.root.setAttribute("aria-busy", "true");
		else this.root.removeAttribute("aria-busy");

		// In the page only while waiting, so `.nbstream-waiting` present means shown:
		// before the first token, and again when the text stops growing for a while.
		if (streaming && text === "") {
			if (!this.#waiting.isConnected) this.root.prepend(this.#waiting);
		} else if (!streaming || text !== this.#lastText) {
			this.#waiting.remove();
		}
		this.#watchForStall(streaming, text);
		this.#markdown.setAllowImages(Boolean(model.get("allow_images")));
		this.#markdown.update(text, streaming);
		this.#showRefusal(model.get("refusal"));
		this.#showError(error);
		this.#showFooter(streaming);
		this.#announce(streaming, error);
	}

	/** Move into another output element as it is (see index.ts). */
	moveTo(parent: HTMLElement): void {
		parent.append(this.root);
	}

	/** Stop listening and leave the page as it was. Safe to call twice. */
	destroy(): void {
		this.#frames.destroy();
		if (this.#stallTimer !== null) clearTimeout(this.#stallTimer);
		this.#stallTimer = null;
		this.root.remove();
	}

	/** A stream that goes quiet shows the waiting dots again after the text. */
	#watchForStall(streaming: boolean, text: string): void {
		if (streaming && text === this.#lastText && this.#stallTimer !== null) return;
		this.#lastText = text;
		if (this.#stallTimer !== null) clearTimeout(this.#stallTimer);
		this.#stallTimer = null;
		if (!streaming || text === "") return;
		this.#stallTimer = setTimeout(() => {
			this.#stallTimer = null;
			const model = this.#model;
			if (model.get("is_streaming") && (model.get("content") ?? "") === this.#lastText) {
				this.#status.before(this.#waiting);
			}
		}, STALL_MS);
	}

	#showRefusal(refusal: unknown): void {
		const text = typeof refusal === "string" ? refusal : "";
		if (!text) {
			this.#refusal.remove();
			return;
		}
		setText(this.#refusal, text);
		if (!this.#refusal.isConnected) this.#status.before(this.#refusal);
	}

	/** Why the answer ended, when that matters, and its token usage, when known. */
	#showFooter(streaming: boolean): void {
		const parts: string[] = [];
		if (!streaming) {
			const reason = this.#model.get("finish_reason");
			if (typeof reason === "string" && FLAGS[reason]) parts.push(FLAGS[reason]);
			const usage = this.#model.get("usage");
			if (usage && typeof usage === "object") {
				const prompt = usage.prompt_tokens;
				const completion = usage.completion_tokens;
				if (typeof prompt === "number" && typeof completion === "number") {
					parts.push(`${prompt.toLocaleString()} prompt + ${completion.toLocaleString()} completion tokens`);
				} else if (typeof usage.total_tokens === "number") {
					parts.push(`${usage.total_tokens.toLocaleString()} tokens`);
				}
			}
		}
		const text = parts.join(" · ");
		if (!text) {
			this.#footer.remove();
			return;
		}
		setText(this.#footer, text);
		const reason = this.#model.get("finish_reason");
		this.#footer.dataset.flag = typeof reason === "string" && FLAGS[reason] ? reason : "";
		if (!this.#footer.isConnected) this.#status.before(this.#footer);
	}

	/** The error goes below the partial text, which stays: it is what the model managed to say. */
	#showError(error: string | null): void {
		if (error === null) {
			this.#error?.remove();
			this.#error = null;
			return;
		}
		if (!this.#error) {
			this.#error = element("div", "nbstream-error");
			this.#error.setAttribute("role", "alert");
			this.#status.before(this.#error);
		}
		setText(this.#error, error);
	}

	/** Tell screen readers once per stream that it finished, not once per token. */
	#announce(streaming: boolean, error: string | null): void {
		const stream = this.#model.get("_stream");
		if (streaming) {
			if (this.#running !== stream) {
				this.#running = stream;
				this.#status.textContent = "";
			}
		} else if (this.#running !== null) {
			this.#running = null;
			this.#status.textContent = error ? "Answer stopped with an error." : "Answer complete.";
		}
	}
}
