/**
 * The shapes of nbstream.Chat's state and messages. docs/chat-protocol.md is the
 * source of truth; these types only mirror it. Everything here comes from the kernel
 * and is untrusted: the code that reads it checks types before use.
 */
import type { ModelEvents } from "../types";

/** The texts of an answer that stream as deltas. */
export type Lane = "text" | "reasoning";

export interface ToolCall {
	id: string;
	name: string;
	/** The raw string the model produced, possibly not valid JSON. */
	arguments: string;
}

export interface TurnStats {
	model?: string | null;
	ttft?: number | null;
	duration?: number | null;
	tokens_per_second?: number | null;
	tokens_estimated?: boolean;
	prompt_tokens?: number | null;
	completion_tokens?: number | null;
	finish_reason?: string | null;
	/** The whole exchange's, on its last assistant turn. */
	rounds?: number | null;
	tool_calls?: number | null;
}

export type TurnStatus = "streaming" | "done" | "stopped" | "error";
/** A tool turn's: the state of the call it answers. */
export type ToolStatus = "pending" | "waiting" | "running" | "done" | "error" | "denied" | "cancelled";

export interface Turn {
	id: number;
	role: "user" | "assistant" | "tool";
	/** Markdown. For a streaming assistant turn: "" (the text is in `_live_text`). */
	content: string;
	status?: TurnStatus | ToolStatus;
	reasoning?: string;
	tool_calls?: ToolCall[];
	error?: string | null;
	stats?: TurnStats | null;
	/** Tool turns may name the tool they answer (not in the spec; shown when present). */
	name?: string;
	/** A tool turn: the call it answers (an id in an earlier turn's `tool_calls`). */
	tool_call_id?: string;
	/** A tool turn: seconds the call ran, once it ended. */
	duration?: number | null;
	/** Why a tool call (or, on an assistant turn, the exchange) ended as it did. */
	note?: string | null;
	/** A user turn: what was attached, as chips describe it (chat/attachments.ts). */
	attachments?: unknown;
}

/** The synced traits of `nbstream.Chat`. */
export interface ChatTraits {
	_turns: Turn[];
	system: string | null;
	model_name: string;
	backend: string;
	is_streaming: boolean;
	_stream: number;
	_live_text: string;
	_live_reasoning: string;
	_live_tools: ToolCall[];
	/** Load markdown images in answers (see ../markdown.ts); absent in older saved state. */
	allow_images?: boolean;
}

/** Browser → kernel. */
export type ChatRequest =
	| { kind: "send"; text: string; files?: { name: string; type: string }[] }
	| { kind: "stop" }
	| { kind: "regenerate" }
	| { kind: "edit"; id: number; text: string }
	| { kind: "clear" }
	| { kind: "approve"; call_id: string; allow: boolean }
	| { kind: "resync"; lane: Lane; stream: number };

/** The part of anywidget's model the chat uses (see ../types.ts for why not @anywidget/types). */
export interface ChatModel extends ModelEvents {
	get<K extends keyof ChatTraits>(key: K): ChatTraits[K];
	set(values: Partial<ChatTraits>): void;
	send(content: ChatRequest, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}
