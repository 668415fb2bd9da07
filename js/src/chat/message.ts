/**
 * One turn of the conversation in the page. A MessageView keeps its DOM for the
 * turn's whole life and only touches the parts whose data changed, so a `_turns`
 * update leaves the other messages (their selection, focus, open reasoning) alone.
 *
 * Everything shown comes from the kernel and is untrusted: markdown goes through the
 * shared renderer and sanitizer, everything else goes in as text.
 */
import { button, element, setText, waitingDots } from "../dom";
import { MarkdownView } from "../markdown-view";
import { attachmentChips, attachmentViews } from "./attachments";
import { editBox } from "./editor";
import { FLAGS, statsItems, str } from "./format";
import { renderedCopy } from "./plain-text";
import { type ToolCard, toolCard, toolResult } from "./tools";
import type { ChatRequest, ToolCall, Turn } from "./types";

/** What a message needs from the chat around it. */
export interface MessageHost {
	send(request: ChatRequest): void;
	/** Copy `text` (and, when given, `html` as its formatted flavour); `button` says so. */
	copy(text: string, button: HTMLButtonElement, html?: string): void;
	focusInput(): void;
	/** Say `text` in the chat's polite live region. */
	announce(text: string): void;
}

/** What the message cannot tell from its turn alone. */
export interface MessageState {
	/** This turn is the answer streaming now: its parts come from the live attributes. */
	live: { text: string; reasoning: string; tools: ToolCall[] } | null;
	/** This is the conversation's last assistant turn: it may be regenerated or retried. */
	last: boolean;
	/** An answer is streaming somewhere in the chat. */
	busy: boolean;
	/** The user allowed images (the Chat's `allow_images`). */
	images: boolean;
	/** The tool turns that answer calls, by call id: they show as those calls' cards. */
	results: Map<string, Turn>;
}

/** The parts of a message, in page order. Each is present only while it has something to show. */
const ORDER = [
	"label",
	"reasoning",
	"body",
	"attachments",
	"editor",
	"waiting",
	"tools",
	"note",
	"error",
	"footer",
	"actions",
] as const;
type Part = (typeof ORDER)[number];

const LABELS: Record<Turn["role"], string> = { user: "You:", assistant: "Assistant:", tool: "Tool result:" };

export const list = (value: unknown): ToolCall[] =>
	Array.isArray(value) ? value.filter((v) => typeof v === "object" && v !== null) : [];

/** Wrap each code block with a "Copy code" button (the chat's click handler does the copying). */
function addCodeButtons(fragment: DocumentFragment): void {
	for (const pre of Array.from(fragment.querySelectorAll("pre"))) {
		const wrapper = element("div", "nbstream-code");
		pre.replaceWith(wrapper);
		wrapper.append(button("nbstream-copy-code", "Copy code", "Copy"), pre);
	}
}

export class MessageView {
	readonly root: HTMLDivElement;
	readonly #host: MessageHost;
	readonly #role: Turn["role"];
	readonly #body: HTMLDivElement;
	readonly #markdown: MarkdownView | null;
	readonly #parts = new Map<Part, HTMLElement>();
	#turn: Turn;
	/** The turn as last drawn (JSON), or null while it is drawn from the live attributes. */
	#drawn: string | null = null;
	/** The state the buttons were last drawn for. */
	#controls = "";
	/** What "Copy message" copies: the markdown source, never the reasoning. */
	#text = "";
	#reasoning: { summary: HTMLElement; view: MarkdownView } | null = null;
	#cards: ToolCard[] = [];
	#calls: ToolCall[] = [];
	#editor: HTMLTextAreaElement | null = null;
	#images = false;

	constructor(turn: Turn, host: MessageHost) {
		this.#turn = turn;
		this.#host = host;
		this.#role = turn.role;
		this.root = element("div", "nbstream-msg");
		this.root.dataset.role = turn.role;
		this.root.dataset.id = String(turn.id);
		this.#body = element("div", "nbstream-body");
		// Only answers are markdown; the user's text is shown as typed.
		this.#markdown =
			turn.role === "assistant" ? new MarkdownView(this.#body, { decorate: addCodeButtons }) : null;
		this.#put("label", element("span", "nbstream-sr-only", LABELS[turn.role]));
		this.#put("body", this.#body);
	}

	/**
	 * Called every frame while an answer streams, so it must be cheap for a turn that
	 * did not change: Backbone hands back the same array (and turn objects) until the
	 * kernel sets `_turns` again, and only then is a turn compared by value.
	 */
	update(turn: Turn, state: MessageState): void {
		if (state.images !== this.#images) {
			this.#images = state.images;
			this.#markdown?.setAllowImages(state.images);
			this.#reasoning?.view.setAllowImages(state.images);
			this.#drawn = null; // draw the turn again, now with or without its images
		}
		const fresh = turn !== this.#turn || this.#drawn === null;
		this.#turn = turn;
		let redrawn = false;
		if (state.live) {
			this.#drawAssistant(turn, state.live);
			this.#drawn = null;
		} else if (fresh) {
			const drawn = JSON.stringify(turn);
			redrawn = drawn !== this.#drawn;
			if (redrawn) {
				if (this.#role === "assistant") this.#drawAssistant(turn, null);
				else if (this.#role === "user") this.#drawUser(turn);
				else this.#drawTool(turn);
				this.#drawn = drawn;
			}
		}
		// Cards follow their tool turns, which change without this turn changing.
		if (this.#role === "assistant") this.#drawTools(state.results);
		const controls = `${state.last} ${state.busy}`;
		if (!redrawn && controls === this.#controls) return;
		this.#controls = controls;
		if (this.#role === "assistant") this.#drawRetry(state);
		this.#drawActions(state);
	}

	#drawUser(turn: Turn): void {
		this.#text = str(turn.content);
		setText(this.#body, this.#text);
		this.#put("attachments", attachmentChips(attachmentViews(turn.attachments)));
	}

	#drawTool(turn: Turn): void {
		this.#body.replaceChildren(toolResult(turn));
	}

	#drawAssistant(turn: Turn, live: MessageState["live"]): void {
		const streaming = live !== null;
		const status = streaming ? "streaming" : str(turn.status) || "done";
		this.root.dataset.status = status;
		if (streaming) this.root.setAttribute("aria-busy", "true");
		else this.root.removeAttribute("aria-busy");

		const text = live ? live.text : str(turn.content);
		const reasoning = live ? live.reasoning : str(turn.reasoning);
		const tools = list(live ? live.tools : turn.tool_calls);
		this.#text = text;
		(this.#markdown as MarkdownView).update(text, streaming);
		this.#drawReasoning(reasoning, streaming, streaming && text === "");
		this.#put("waiting", streaming && !text && !reasoning && !tools.length ? this.#waiting() : null);
		this.#calls = tools;
		const note = str(turn.note);
		this.#put("note", note && !streaming ? element("div", "nbstream-msg-note", note) : null);
		if (streaming) {
			this.#put("error", null);
			this.#put("footer", null);
			return;
		}
		this.#drawError(status === "error" ? str(turn.error) || "The answer failed." : null);
		this.#drawFooter(turn, status);
	}

	/** Collapsed above the answer; its own markdown view, so it is sanitized the same way. */
	#drawReasoning(reasoning: string, streaming: boolean, cursor: boolean): void {
		if (!reasoning) {
			this.#put("reasoning", null);
			this.#reasoning = null;
			return;
		}
		if (!this.#reasoning) {
			const details = element("details", "nbstream-reasoning");
			const summary = element("summary", "");
			const body = element("div", "nbstream-reasoning-body");
			details.append(summary, body);
			this.#reasoning = { summary, view: new MarkdownView(body, { allowImages: this.#images }) };
			this.#put("reasoning", details);
		}
		const label = streaming ? "Reasoning…" : "Reasoning";
		setText(this.#reasoning.summary, label);
		this.#reasoning.view.update(reasoning, cursor);
	}

	#waiting(): HTMLElement {
		return this.#parts.get("waiting") ?? waitingDots();
	}

	/** One card per call, in call order; calls only ever get appended, so index keys them. */
	#drawTools(results: Map<string, Turn>): void {
		const calls = this.#calls;
		const cards = this.#cards;
		while (cards.length > calls.length) cards.pop()?.root.remove();
		if (!calls.length) {
			this.#put("tools", null);
			return;
		}
		const box = this.#parts.get("tools") ?? element("div", "nbstream-tools");
		calls.forEach((call, i) => {
			cards[i] ??= toolCard(this.#host);
			cards[i].update(call, results.get(str(call.id)));
			if (box.children[i] !== cards[i].root) box.append(cards[i].root);
		});
		this.#put("tools", box);
	}

	/** Below the partial text, which stays: it is what the model managed to say. */
	#drawError(message: string | null): void {
		if (message === null) {
			this.#put("error", null);
			return;
		}
		const box = element("div", "nbstream-error");
		box.setAttribute("role", "alert");
		box.append(element("span", "nbstream-error-text", message));
		this.#put("error", box);
	}

	/** Retry answers the last user message again, so only the last answer offers it. */
	#drawRetry(state: MessageState): void {
		const box = this.#parts.get("error");
		if (!box) return;
		let retry = box.querySelector<HTMLButtonElement>(".nbstream-retry");
		const wanted = state.last && !state.busy;
		if (wanted && !retry) {
			retry = button("nbstream-retry", "Retry", "Retry");
			retry.addEventListener("click", () => this.#host.send({ kind: "regenerate" }));
			box.append(" ", retry);
		} else if (!wanted && retry) {
			retry.previousSibling?.remove();
			retry.remove();
		}
	}

	#drawFooter(turn: Turn, status: string): void {
		const footer = element("div", "nbstream-msg-footer");
		const stats = typeof turn.stats === "object" ? turn.stats : null;
		const reason = str(stats?.finish_reason);
		for (const flag of [status, reason]) {
			const text = FLAGS.get(flag);
			if (!text) continue;
			const span = element("span", "nbstream-flag", text);
			span.dataset.flag = flag;
			footer.append(span);
		}
		for (const stat of statsItems(stats)) {
			const span = element("span", "nbstream-stat", stat.text);
			span.dataset.stat = stat.name;
			span.title = stat.title;
			footer.append(span);
		}
		this.#put("footer", footer.childElementCount ? footer : null);
	}

	#drawActions(state: MessageState): void {
		if (this.#role === "tool") return;
		let actions = this.#parts.get("actions");
		if (!actions) {
			actions = element("div", "nbstream-msg-actions");
			const copy = button("nbstream-copy", "Copy message", "Copy");
			copy.addEventListener("click", () => this.#host.copy(this.#text, copy));
			actions.append(copy);
			if (this.#role === "assistant") {
				// As the reader sees it, for an email or a document: rendered and plain.
				const asText = button("nbstream-copy-text", "Copy as text", "Copy text");
				asText.addEventListener("click", () => {
					const { html, plain } = renderedCopy(this.#body);
					this.#host.copy(plain, asText, html);
				});
				actions.append(asText);
			}
			if (this.#role === "user") {
				const edit = button("nbstream-edit", "Edit message", "Edit");
				edit.addEventListener("click", () => this.#openEditor());
				actions.append(edit);
			}
			this.#put("actions", actions);
		}
		const edit = actions.querySelector<HTMLButtonElement>(".nbstream-edit");
		if (edit) edit.disabled = state.busy;
		const send = this.#parts.get("editor")?.querySelector<HTMLButtonElement>(".nbstream-edit-send");
		if (send) send.disabled = state.busy;

		let regenerate = actions.querySelector<HTMLButtonElement>(".nbstream-regenerate");
		const wanted = this.#role === "assistant" && state.last && !state.busy;
		if (wanted && !regenerate) {
			regenerate = button("nbstream-regenerate", "Regenerate answer", "Regenerate");
			regenerate.addEventListener("click", () => this.#host.send({ kind: "regenerate" }));
			actions.append(regenerate);
		} else if (!wanted && regenerate) {
			regenerate.remove();
		}
	}

	#openEditor(): void {
		if (this.#editor) {
			this.#editor.focus({ preventScroll: true });
			return;
		}
		const { root, area } = editBox(
			str(this.#turn.content),
			Boolean(this.#parts.get("actions")?.querySelector<HTMLButtonElement>(".nbstream-edit")?.disabled),
			() => this.#sendEdit(),
			() => this.#closeEditor(true),
		);
		this.#editor = area;
		this.#body.hidden = true;
		this.#put("editor", root);
		area.focus({ preventScroll: true });
	}

	#sendEdit(): void {
		const area = this.#editor;
		const send = this.#parts.get("editor")?.querySelector<HTMLButtonElement>(".nbstream-edit-send");
		if (!area || send?.disabled || !area.value.trim()) return;
		this.#host.send({ kind: "edit", id: this.#turn.id, text: area.value });
		this.#closeEditor(false);
		this.#host.focusInput();
	}

	#closeEditor(refocus: boolean): void {
		this.#put("editor", null);
		this.#editor = null;
		this.#body.hidden = false;
		if (refocus)
			this.#parts
				.get("actions")
				?.querySelector<HTMLElement>(".nbstream-edit")
				?.focus({ preventScroll: true });
	}

	/** Show `el` as `part` (replacing what was there), or remove the part when null. */
	#put(part: Part, el: HTMLElement | null): void {
		const current = this.#parts.get(part);
		if (current === el) return;
		current?.remove();
		if (!el) {
			this.#parts.delete(part);
			return;
		}
		const later = ORDER.slice(ORDER.indexOf(part) + 1);
		const next = later.map((p) => this.#parts.get(p)).find((p) => p !== undefined) ?? null;
		this.root.insertBefore(el, next);
		this.#parts.set(part, el);
	}
}
