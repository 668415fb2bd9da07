/**
 * The shapes shared by the kernel and the browser. docs/protocol.md is the source of
 * truth; these types only mirror it.
 */

/** The synced traits of `nbstream.StreamView` (ipywidgets state). */
export interface Traits {
	content: string;
	is_streaming: boolean;
	error: string | null;
	_stream: number;
	/** Load markdown images (see markdown.ts); absent in state saved by older versions. */
	allow_images?: boolean;
	/** Why the model stopped, when the source said (absent in older saved state). */
	finish_reason?: string | null;
	/** Token counts of the last stream, when the provider sent them. */
	usage?: {
		prompt_tokens?: number | null;
		completion_tokens?: number | null;
		total_tokens?: number | null;
	} | null;
	/** The model's refusal, shown instead of an answer. */
	refusal?: string | null;
}

export interface DeltaMessage {
	kind: "delta";
	/** Which text of a Chat answer this is about (docs/chat-protocol.md); absent means "text". */
	lane?: string;
	stream: number;
	offset: number;
	text: string;
}

export interface EndMessage {
	kind: "end";
	/** Which text of a Chat answer this is about (docs/chat-protocol.md); absent means "text". */
	lane?: string;
	stream: number;
	offset: number;
	text: string;
	length: number;
	error: string | null;
}

export interface SyncMessage {
	kind: "sync";
	/** Which text of a Chat answer this is about (docs/chat-protocol.md); absent means "text". */
	lane?: string;
	stream: number;
	content: string;
	is_streaming: boolean;
	error: string | null;
}

export type KernelMessage = DeltaMessage | EndMessage | SyncMessage;

export interface ResyncRequest {
	kind: "resync";
	stream: number;
}

/** A model event's callback. */
export type Handler = (...args: never[]) => void;

/** Subscribing to a model's events (Backbone's `on` / `off`), the same for both widgets. */
export interface ModelEvents {
	on(event: string, callback: Handler): void;
	off(event?: string | null, callback?: Handler | null): void;
}

/**
 * The part of anywidget's model that we use. Declared here instead of taken from
 * `@anywidget/types` because we need Backbone's `set(object)`: setting several
 * traits in one call fires their change events only after all of them hold their
 * new values, so no view ever sees `content` final while `is_streaming` is still true.
 */
export interface StreamModel extends ModelEvents {
	get<K extends keyof Traits>(key: K): Traits[K];
	set(values: Partial<Traits>): void;
	send(content: ResyncRequest): void;
}
