/**
 * A LiveText bound to a model: kernel messages go in, and its effects come out as
 * model changes and resync requests. StreamView's text (channel.ts) and each lane of
 * a Chat answer (chat/lanes.ts) are one binding each.
 *
 * The text is mirrored into a model attribute *locally* (never saved back). Views
 * therefore only ever read model attributes, and a view created mid-stream finds the
 * whole text at once. We cannot hand views a shared object instead: anywidget gives
 * `initialize` and every `render` a different proxy of the model, so there is no
 * stable object identity to key a WeakMap on.
 */
import { LiveText } from "./live-text";
import type { ModelEvents, Traits } from "./types";

/** A text's final (or re-synced) state, as LiveText commits it. */
type Committed = Pick<Traits, "content" | "is_streaming" | "error">;

/** The part of a model a binding uses; `T` are its traits, `R` what it sends the kernel. */
export interface BindableModel<T, R> extends ModelEvents {
	get<K extends keyof T>(key: K): T[K];
	set(values: Partial<T>): void;
	send(content: R): void;
}

export interface Binding<T, R> {
	/** The attribute the text is mirrored into. */
	attribute: keyof T & string;
	/** Whether a kernel message is about this text; without it, every message is. */
	accepts?: (message: unknown) => boolean;
	/** What the final state puts on the model, in one set; without it, only the text. */
	commit?: (state: Committed) => Partial<T>;
	/** The request that asks the kernel for the whole text again. */
	resync: (stream: number) => R;
}

/** Bind a new LiveText, holding the attribute's text, to `model`. Returns the unbinder. */
export function bindLiveText<T extends { _stream: number }, R>(
	model: BindableModel<T, R>,
	// T and R come from the model alone, so a request of the wrong shape is a type error.
	binding: NoInfer<Binding<T, R>>,
): () => void {
	const { attribute } = binding;
	const read = (): string => {
		const value = model.get(attribute);
		return typeof value === "string" ? value : "";
	};
	const live = new LiveText(read());
	// Our own writes to the attribute fire its change event too; this tells them apart
	// from the kernel's (Backbone fires change events synchronously inside `set`).
	let writing = false;

	const write = (values: Partial<T>): void => {
		writing = true;
		try {
			model.set(values);
		} finally {
			writing = false;
		}
	};
	const text = (value: string): Partial<T> => ({ [attribute]: value }) as Partial<T>;

	const onMessage = (message: unknown): void => {
		if (binding.accepts && !binding.accepts(message)) return;
		const effect = live.receive(message, model.get("_stream"));
		switch (effect.kind) {
			case "text":
				write(text(live.text));
				break;
			case "commit":
				write(binding.commit ? binding.commit(effect.state) : text(effect.state.content));
				break;
			case "resync":
				model.send(binding.resync(effect.stream));
				break;
		}
	};

	// The kernel set the attribute itself (a stream's opening or closing update, or the
	// user assigning it from Python): that is now the truth.
	const onText = (): void => {
		if (!writing) live.reset(read());
	};
	const onStream = (): void => live.reset(read());

	const change = `change:${attribute}`;
	model.on("msg:custom", onMessage);
	model.on(change, onText);
	model.on("change:_stream", onStream);
	return () => {
		model.off("msg:custom", onMessage);
		model.off(change, onText);
		model.off("change:_stream", onStream);
	};
}
