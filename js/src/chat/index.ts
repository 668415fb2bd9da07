/**
 * The anywidget entry point of nbstream.Chat (docs/chat-protocol.md).
 *
 * `initialize` runs once per model and owns the lanes (lanes.ts): it keeps
 * `_live_text` and `_live_reasoning` equal to the streaming answer's texts. `render`
 * runs once per view and only draws what the model holds, so every view, including
 * one opened mid-stream, shows the same conversation.
 */
import { connectLanes } from "./lanes";
import type { ChatModel } from "./types";
import { ChatView } from "./view";

interface InitializeProps {
	model: ChatModel;
}

interface RenderProps {
	model: ChatModel;
	el: HTMLElement;
}

export default {
	initialize({ model }: InitializeProps): () => void {
		return connectLanes(model);
	},
	render({ model, el }: RenderProps): () => void {
		const view = new ChatView(model, el);
		return () => view.destroy();
	},
};
