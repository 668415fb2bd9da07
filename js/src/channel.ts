/**
 * StreamView's delivery protocol, bound to a model. Runs once per model (anywidget's
 * `initialize`), so there is one text per model however many views show it. The text
 * is mirrored into the model's `content` attribute (see live-binding.ts).
 */
import { bindLiveText } from "./live-binding";
import type { StreamModel } from "./types";

export function connect(model: StreamModel): () => void {
	const unbind = bindLiveText(model, {
		attribute: "content",
		// One set: content, is_streaming and error change together.
		commit: (state) => state,
		resync: (stream) => ({ kind: "resync", stream }),
	});
	// A model can come to life after some of a stream's messages went by: marimo runs
	// `initialize` only when the widget is first shown, which for a stream run in the
	// same cell is after its end. Its state still says "streaming" (the end's values
	// travel in a message, not as state), and no gap would ever show, so ask now.
	// Deltas that follow on from the text held are still applied until the reply comes
	// (in marimo the reply waits for the streaming cell to end).
	if (model.get("is_streaming")) model.send({ kind: "resync", stream: model.get("_stream") });
	return unbind;
}
