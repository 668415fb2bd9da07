/**
 * Binds the protocol state machine to a model. Runs once per model (anywidget's
 * `initialize`), so there is one text per model however many views show it.
 *
 * The live text is mirrored into the model's `content` attribute *locally* (never
 * saved back). Views therefore only ever read model attributes, and a view created
 * mid-stream finds the whole text at once. We cannot hand views a shared object
 * instead: anywidget gives `initialize` and every `render` a different proxy of the
 * model, so there is no stable object identity to key a WeakMap on.
 */
import { LiveText } from "./live-text";
import type { StreamModel, Traits } from "./types";

export function connect(model: StreamModel): () => void {
	const live = new LiveText(model.get("content") ?? "");
	// Our own writes to `content` fire `change:content` too; this tells them apart
	// from the kernel's (Backbone fires change events synchronously inside `set`).
	let writing = false;

	const write = (values: Partial<Traits>): void => {
		writing = true;
		try {
			model.set(values);
		} finally {
			writing = false;
		}
	};

	const onMessage = (message: unknown): void => {
		const effect = live.receive(message, model.get("_stream"));
		switch (effect.kind) {
			case "text":
				write({ content: live.text });
				break;
			case "commit":
				// One set: content, is_streaming and error change together.
				write(effect.state);
				break;
			case "resync":
				model.send({ kind: "resync", stream: effect.stream });
				break;
		}
	};

	// The kernel set `content` itself (a new stream's opening update, or the user
	// assigning it from Python): that is now the truth.
	const onContent = (): void => {
		if (!writing) live.reset(model.get("content") ?? "");
	};
	const onStream = (): void => live.reset(model.get("content") ?? "");

	model.on("msg:custom", onMessage);
	model.on("change:content", onContent);
	model.on("change:_stream", onStream);
	// A model can come to life after some of a stream's messages went by: marimo runs
	// `initialize` only when the widget is first shown, which for a stream run in the
	// same cell is after its end. Its state still says "streaming" (the end's values
	// travel in a message, not as state), and no gap would ever show, so ask now.
	// Deltas that follow on from the text held are still applied until the reply comes
	// (in marimo the reply waits for the streaming cell to end).
	if (model.get("is_streaming")) model.send({ kind: "resync", stream: model.get("_stream") });
	return () => {
		model.off("msg:custom", onMessage);
		model.off("change:content", onContent);
		model.off("change:_stream", onStream);
	};
}
