/**
 * The anywidget entry point of both widgets, StreamView and Chat.
 *
 * One bundle for both: the two share almost all of it (the markdown parser, the
 * sanitizer, the incremental renderer). In Jupyter it reaches the page once per kernel, through the
 * Bundle model that each widget's stub names (stub.ts, nbstream/bundle.py).
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
import { endAnswerOnDisconnect, endStreamOnDisconnect } from "./disconnect";
import { whenConnected } from "./dom";
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

interface View {
	moveTo(parent: HTMLElement): void;
	destroy(): void;
}

/** A view and the outputs (anywidget views) that show it: more than one once adopted. */
interface Shown {
	view: View;
	el: HTMLElement;
	owners: number;
	/** Whether `el` has been in the page: only then does leaving it mean "replaced". */
	attached: boolean;
}

/**
 * Views by model. anywidget gives every call a different proxy of the model, so each
 * model gets a key of its own, stored as a local attribute (never sent to the kernel).
 */
const shown = new Map<string, Shown[]>();

/** The model, for attributes of our own that are not synced traits. */
interface LocalAttributes {
	get(key: string): unknown;
	set(values: Record<string, unknown>): void;
}
const KEY = "_nbstream_key";

function keyOf(model: Model): string {
	const key = (model as unknown as LocalAttributes).get(KEY);
	return typeof key === "string" ? key : "";
}

/**
 * When a stream ends, the kernel updates the output that shows the widget so that it
 * carries a static copy of the text (nbstream/saved_output.py). JupyterLab answers an
 * update by rendering a new view into the same output, after taking the old view's
 * element out of the page, and never disposes the old view. Rendering anew would
 * lose the reader's place (a chat's draft, focus and scroll position) and redraw the
 * whole text, so the new output adopts the old view instead: an orphaned view of the
 * same model moves into it as it is.
 */
function adopt(key: string, el: HTMLElement): Shown | undefined {
	// A view still being set up has no parent yet either; it must not be taken.
	const orphan = shown
		.get(key)
		?.find((entry) => entry.attached && entry.el !== el && entry.el.parentNode === null);
	if (!orphan) return undefined;
	orphan.view.moveTo(el);
	orphan.el = el;
	orphan.owners += 1;
	return orphan;
}

export default {
	initialize(props: InitializeProps): () => void {
		const model = settable(props.model);
		const disconnect = isChat(model) ? endAnswerOnDisconnect(model) : endStreamOnDisconnect(model);
		const protocol = isChat(model) ? connectLanes(model) : connect(model);
		return () => {
			disconnect();
			protocol();
		};
	},
	render({ model, el }: RenderProps): () => void {
		const key = keyOf(model);
		let entry = key ? adopt(key, el) : undefined;
		if (!entry) {
			const view = isChat(model) ? new ChatView(model, el) : new StreamView(model, el);
			entry = { view, el, owners: 1, attached: false };
			shown.set(key, [...(shown.get(key) ?? []), entry]);
		}
		const mine = entry;
		watchAttached(mine);
		return () => {
			mine.owners -= 1;
			if (mine.owners > 0) return;
			mine.view.destroy();
			const rest = (shown.get(key) ?? []).filter((other) => other !== mine);
			if (rest.length) shown.set(key, rest);
			else shown.delete(key);
		};
	},
};

/**
 * Give the model its key, and the model that code run in `initialize` should set
 * attributes on. Backbone's models (Jupyter, Voilà) take `set(object)`, which the
 * delivery protocol relies on (types.ts); marimo's only take `set(key, value)`, as
 * anywidget's spec has it, and turn an object into one junk attribute, so no text
 * would ever show. Such a model gets one `set(key, value)` per attribute instead
 * (views redraw on the next frame either way).
 */
function settable(model: Model): Model {
	const local = model as unknown as LocalAttributes & { set(name: string, value: unknown): void };
	const key = randomKey();
	local.set({ [KEY]: key });
	if (local.get(KEY) === key) return model;
	const set = (values: object): void => {
		for (const [name, value] of Object.entries(values)) local.set(name, value);
	};
	set({ [KEY]: key });
	return {
		get: local.get.bind(local),
		set,
		on: model.on.bind(model),
		off: model.off.bind(model),
		send: model.send.bind(model),
	} as Model;
}

/** Note when the output is in the page. */
function watchAttached(entry: Shown): void {
	whenConnected(entry.el, () => {
		entry.attached = true;
	});
}

function randomKey(): string {
	return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
