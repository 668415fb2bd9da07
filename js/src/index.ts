/**
 * The anywidget entry point of both widgets, StreamView and Chat.
 *
 * One bundle for both: anywidget sends the bundle with every widget instance, and the
 * two share almost all of it (marked, the sanitizer, the incremental renderer), so one
 * 87 kB bundle keeps every instance and the package within the 100 kB budget where two
 * (66 kB + 84 kB) would not.
 *
 * `initialize` runs once per model and owns the delivery protocol (channel.ts, or the
 * chat's lanes.ts): it keeps the model's live text attributes current. `render` runs
 * once per view and only draws what the model holds, so every view of a model,
 * including one opened mid-stream, shows the same full text.
 */
import { connect } from "./channel";
import { connectLanes } from "./chat/lanes";
import type { ChatModel } from "./chat/types";
import { ChatView } from "./chat/view";
import type { StreamModel } from "./types";
import { StreamView } from "./view";

type Model = StreamModel | ChatModel;

interface InitializeProps {
	model: Model;
}

interface RenderProps {
	model: Model;
	el: HTMLElement;
}

/** A Chat's state has a conversation (`_turns`); a StreamView's never does. */
export function isChat(model: Model): model is ChatModel {
	return Array.isArray((model as ChatModel).get("_turns"));
}

export default {
	initialize({ model }: InitializeProps): () => void {
		return isChat(model) ? connectLanes(model) : connect(model);
	},
	render({ model, el }: RenderProps): () => void {
		const view = isChat(model) ? new ChatView(model, el) : new StreamView(model, el);
		return () => view.destroy();
	},
};
