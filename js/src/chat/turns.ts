/**
 * The conversation log: one MessageView per turn, keyed by turn id, so an update only
 * touches the turns that changed (message.ts) and moves only what is out of place.
 */
import { element } from "../dom";
import { str } from "./format";
import { list, type MessageHost, type MessageState, MessageView } from "./message";
import type { ChatModel, ToolCall, Turn } from "./types";

/** The turns worth drawing: objects with a known role and an id not seen before. */
export function validTurns(value: unknown): Turn[] {
	if (!Array.isArray(value)) return [];
	const seen = new Set<number>();
	return value.filter((turn): turn is Turn => {
		if (typeof turn !== "object" || turn === null) return false;
		const { id, role } = turn as Partial<Turn>;
		if (typeof id !== "number" || seen.has(id)) return false;
		seen.add(id);
		return role === "user" || role === "assistant" || role === "tool";
	});
}

export class TurnList {
	readonly log: HTMLDivElement;
	readonly #model: ChatModel;
	readonly #host: MessageHost;
	readonly #empty: HTMLDivElement;
	readonly #messages = new Map<number, MessageView>();

	constructor(model: ChatModel, host: MessageHost) {
		this.#model = model;
		this.#host = host;
		this.log = element("div", "nbstream-chat-log");
		this.log.setAttribute("role", "log");
		this.log.setAttribute("aria-label", "Conversation");
		// Scrollable regions must be reachable by keyboard to be scrolled with arrow keys.
		this.log.tabIndex = 0;
		this.#empty = element("div", "nbstream-chat-empty", "Ask anything…");
		this.log.addEventListener("click", this.#onClick);
	}

	draw(turns: Turn[], streaming: boolean): void {
		const model = this.#model;
		const lastTurn = turns[turns.length - 1];
		const liveId =
			streaming && lastTurn?.role === "assistant" && lastTurn.status === "streaming" ? lastTurn.id : null;
		let lastAssistant: number | undefined;
		for (const turn of turns) if (turn.role === "assistant") lastAssistant = turn.id;
		const tools = model.get("_live_tools");
		const live: MessageState["live"] = {
			text: str(model.get("_live_text")),
			reasoning: str(model.get("_live_reasoning")),
			tools: Array.isArray(tools) ? (tools as ToolCall[]) : [],
		};

		// A tool turn that answers a call of an earlier turn is that call's card, not a message.
		const calls = new Set<string>();
		const results = new Map<string, Turn>();
		const shown = turns.filter((turn) => {
			const call = str(turn.tool_call_id);
			if (turn.role === "tool" && call && calls.has(call)) return !results.set(call, turn);
			if (turn.role === "assistant") for (const c of list(turn.tool_calls)) calls.add(str(c.id));
			return true;
		});
		const images = Boolean(model.get("allow_images"));
		const roles = new Map(shown.map((turn) => [turn.id, turn.role]));
		for (const [id, view] of this.#messages) {
			if (roles.get(id) === view.root.dataset.role) continue;
			view.root.remove();
			this.#messages.delete(id);
		}
		if (shown.length) this.#empty.remove();
		else if (!this.#empty.isConnected) this.log.prepend(this.#empty);

		shown.forEach((turn, index) => {
			let view = this.#messages.get(turn.id);
			if (!view) {
				view = new MessageView(turn, this.#host);
				this.#messages.set(turn.id, view);
			}
			view.update(turn, {
				live: turn.id === liveId ? live : null,
				last: turn.id === lastAssistant,
				busy: streaming,
				images,
				results,
			});
			// Moves only what is out of place; in the usual append-only case, nothing.
			const current = this.log.children[index];
			if (current !== view.root) this.log.insertBefore(view.root, current ?? null);
		});
	}

	/** Code blocks are re-rendered while they stream, so their buttons are handled here, once. */
	#onClick = (event: MouseEvent): void => {
		const target = event.target instanceof Element ? event.target : null;
		const copy = target?.closest<HTMLButtonElement>("button.nbstream-copy-code");
		const code = copy?.parentElement?.querySelector("pre");
		if (copy && code) this.#host.copy(code.textContent ?? "", copy);
	};
}
