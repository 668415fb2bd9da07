/**
 * The anywidget entry point.
 *
 * `initialize` runs once per model and owns the delivery protocol (channel.ts): it
 * keeps the model's `content` attribute equal to the live text. `render` runs once
 * per view and only draws what the model holds, so every view of a model, including
 * one opened mid-stream, shows the same full text.
 */
import { connect } from "./channel";
import type { StreamModel } from "./types";
import { StreamView } from "./view";

interface InitializeProps {
	model: StreamModel;
}

interface RenderProps {
	model: StreamModel;
	el: HTMLElement;
}

export default {
	initialize({ model }: InitializeProps): () => void {
		return connect(model);
	},
	render({ model, el }: RenderProps): () => void {
		const view = new StreamView(model, el);
		return () => view.destroy();
	},
};
