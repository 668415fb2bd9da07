/**
 * One view of a Chat model: builds the DOM once, then redraws from the model's
 * attributes at most once per animation frame. Messages are keyed by turn id, so an
 * update only touches the turns that changed (message.ts).
 *
 * It never scrolls the notebook: only the log's own scrollTop is set, and every
 * focus() passes preventScroll.
 */
import { button, composing, element, setText } from "../dom";
import { animationFrames, FrameLoop, type FrameScheduler } from "../frames";
import { copyText } from "./clipboard";
import { str } from "./format";
import { type MessageState, MessageView } from "./message";
import type { ChatModel, ChatRequest, ToolCall, Turn } from "./types";

const WATCHED = [
	"_turns",
	"system",
	"model_name",
	"backend",
	"is_streaming",
	"_stream",
	"_live_text",
	"_live_reasoning",
	"_live_tools",
	"allow_images",
].map((name) => `change:${name}`);

/** Within this many pixels of the bottom, the log counts as "at the bottom" and follows new text. */
const STICK_DISTANCE = 8;
/** How long "Copied" shows on a copy button. */
const FEEDBACK_MS = 1500;

/** The turns worth drawing: objects with a known role and an id not seen before. */
function validTurns(value: unknown): Turn[] {
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

export class ChatView {
	readonly root: HTMLDivElement;
	readonly #model: ChatModel;
	readonly #frames: FrameLoop;
	readonly #header: HTMLDivElement;
	readonly #modelName: HTMLSpanElement;
	readonly #backend: HTMLSpanElement;
	readonly #clear: HTMLButtonElement;
	readonly #log: HTMLDivElement;
	readonly #empty: HTMLDivElement;
	readonly #jump: HTMLButtonElement;
	readonly #status: HTMLDivElement;
	readonly #notice: HTMLDivElement;
	readonly #input: HTMLTextAreaElement;
	readonly #send: HTMLButtonElement;
	readonly #stop: HTMLButtonElement;
	readonly #messages = new Map<number, MessageView>();
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	#streaming = false;
	/** Follow new text: the user is at the bottom of the log (or just sent something). */
	#stick = true;
	/** Where the reader left the log, and whether they were typing (see moveTo). */
	#scrollTop = 0;
	#typing = false;
	/** The id of the answer this view saw streaming and has not announced the end of. */
	#watching: number | null = null;

	constructor(model: ChatModel, parent: HTMLElement, scheduler: FrameScheduler = animationFrames) {
		this.#model = model;

		// `nbstream-view` brings the shared markdown, cursor, error and theme styles.
		this.root = element("div", "nbstream-view nbstream-chat");
		// JupyterLab: no notebook shortcuts while focus is in here (Shift+Enter, A, B, D D…).
		this.root.setAttribute("data-lm-suppress-shortcuts", "true");

		this.#header = element("div", "nbstream-chat-header");
		const title = element("div", "nbstream-chat-title");
		this.#modelName = element("span", "nbstream-chat-model");
		this.#backend = element("span", "nbstream-chat-backend");
		title.append(this.#modelName, this.#backend);
		this.#clear = button("nbstream-clear", "Clear conversation", "Clear");
		this.#header.append(title, this.#clear);

		const main = element("div", "nbstream-chat-main");
		this.#log = element("div", "nbstream-chat-log");
		this.#log.setAttribute("role", "log");
		this.#log.setAttribute("aria-label", "Conversation");
		// Scrollable regions must be reachable by keyboard to be scrolled with arrow keys.
		this.#log.tabIndex = 0;
		this.#empty = element("div", "nbstream-chat-empty", "Ask anything…");
		this.#jump = button("nbstream-jump", "Jump to latest", "↓ Latest");
		this.#jump.hidden = true;
		main.append(this.#log, this.#jump);

		// Live regions must be in the page before their text changes, or nothing is announced.
		this.#status = element("div", "nbstream-status nbstream-sr-only");
		this.#status.setAttribute("role", "status");
		this.#status.setAttribute("aria-live", "polite");
		this.#notice = element("div", "nbstream-notice");
		this.#notice.setAttribute("role", "status");
		this.#notice.setAttribute("aria-live", "polite");

		const compose = element("div", "nbstream-chat-compose");
		this.#input = element("textarea", "nbstream-chat-input");
		this.#input.rows = 1;
		this.#input.setAttribute("aria-label", "Message");
		this.#input.placeholder = "Message (Enter to send, Shift+Enter for a new line)";
		this.#send = button("nbstream-send", "Send message", "Send");
		this.#stop = button("nbstream-stop", "Stop answer", "Stop");
		compose.append(this.#input, this.#send, this.#stop);

		this.root.append(this.#header, main, this.#notice, compose, this.#status);
		parent.append(this.root);

		this.#clear.addEventListener("click", this.#onClear);
		this.#jump.addEventListener("click", this.#onJump);
		this.#send.addEventListener("click", this.#submit);
		this.#stop.addEventListener("click", this.#onStop);
		this.#input.addEventListener("keydown", this.#onInputKey);
		this.#input.addEventListener("input", this.#grow);
		this.#input.addEventListener("focus", () => {
			this.#typing = true;
		});
		this.#input.addEventListener("blur", () => {
			// Leaving the page also blurs; that is not the reader moving on.
			if (this.#input.isConnected) this.#typing = false;
		});
		this.#log.addEventListener("scroll", this.#onScroll);
		this.#log.addEventListener("click", this.#onLogClick);
		for (const type of ["keydown", "keyup", "keypress"]) this.root.addEventListener(type, stopPropagation);
		this.#frames = new FrameLoop(model, WATCHED, () => this.#draw(), scheduler);
		model.on("msg:custom", this.#onMessage);
		// The first paint is synchronous, so a re-rendered output never flashes empty.
		this.flush();
	}

	/** Redraw now from the model's current attributes. */
	flush(): void {
		this.#frames.flush();
	}

	#draw(): void {
		const model = this.#model;
		const turns = validTurns(model.get("_turns"));
		const streaming = Boolean(model.get("is_streaming"));
		this.#streaming = streaming;
		this.root.dataset.streaming = String(streaming);

		// Touch the DOM only on a change: this runs every frame while an answer streams.
		setText(this.#modelName, str(model.get("model_name")));
		setText(this.#backend, str(model.get("backend")));
		const system = str(model.get("system"));
		if (!system) this.#header.removeAttribute("title");
		else if (this.#header.title !== `System prompt:\n${system}`)
			this.#header.title = `System prompt:\n${system}`;
		this.#clear.disabled = streaming;
		this.#showStreaming(streaming);

		this.#drawTurns(turns, streaming);
		this.#announce(turns, streaming);
		if (this.#stick) this.#toBottom();
	}

	/**
	 * Move into another output element as it is (see ../index.ts): the draft, the
	 * scroll position and, if the reader was typing, the focus come along.
	 */
	moveTo(parent: HTMLElement): void {
		parent.append(this.root);
		// Taking an element out of the page resets its scroll position and drops focus.
		if (this.#stick) this.#toBottom();
		else this.#log.scrollTop = this.#scrollTop;
		if (this.#typing) this.#input.focus({ preventScroll: true });
	}

	/** Stop listening and leave the page as it was. Safe to call twice. */
	destroy(): void {
		this.#frames.destroy();
		this.#model.off("msg:custom", this.#onMessage);
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.root.remove();
	}

	#drawTurns(turns: Turn[], streaming: boolean): void {
		const lastTurn = turns[turns.length - 1];
		const liveId =
			streaming && lastTurn?.role === "assistant" && lastTurn.status === "streaming" ? lastTurn.id : null;
		let lastAssistant: number | undefined;
		for (const turn of turns) if (turn.role === "assistant") lastAssistant = turn.id;
		const tools = this.#model.get("_live_tools");
		const live: MessageState["live"] = {
			text: str(this.#model.get("_live_text")),
			reasoning: str(this.#model.get("_live_reasoning")),
			tools: Array.isArray(tools) ? (tools as ToolCall[]) : [],
		};

		const images = Boolean(this.#model.get("allow_images"));
		const roles = new Map(turns.map((turn) => [turn.id, turn.role]));
		for (const [id, view] of this.#messages) {
			if (roles.get(id) === view.root.dataset.role) continue;
			view.root.remove();
			this.#messages.delete(id);
		}
		if (turns.length) this.#empty.remove();
		else if (!this.#empty.isConnected) this.#log.prepend(this.#empty);

		turns.forEach((turn, index) => {
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
			});
			// Moves only what is out of place; in the usual append-only case, nothing.
			const current = this.#log.children[index];
			if (current !== view.root) this.#log.insertBefore(view.root, current ?? null);
		});
	}

	/** Send ↔ Stop, keeping keyboard focus on whichever is shown. */
	#showStreaming(streaming: boolean): void {
		if (this.#stop.hidden === !streaming && this.#send.hidden === streaming) return;
		const from = streaming ? this.#send : this.#stop;
		const to = streaming ? this.#stop : this.#send;
		const hadFocus = document.activeElement === from;
		from.hidden = true;
		to.hidden = false;
		if (hadFocus) to.focus({ preventScroll: true });
	}

	/** Tell screen readers once per answer that it ended, not once per token. */
	#announce(turns: Turn[], streaming: boolean): void {
		const last = turns[turns.length - 1];
		if (streaming && last?.role === "assistant" && last.status === "streaming") {
			if (this.#watching !== last.id) {
				this.#watching = last.id;
				this.#status.textContent = "";
			}
			return;
		}
		if (this.#watching === null || streaming) return;
		const turn = turns.find((t) => t.id === this.#watching);
		this.#watching = null;
		if (!turn || turn.status === "streaming") return;
		this.#status.textContent =
			turn.status === "stopped"
				? "Answer stopped."
				: turn.status === "error"
					? `Answer failed: ${str(turn.error) || "unknown error"}`
					: "Answer complete.";
	}

	#toBottom(): void {
		this.#log.scrollTop = this.#log.scrollHeight;
		this.#jump.hidden = true;
	}

	#onScroll = (): void => {
		const log = this.#log;
		if (!log.isConnected) return; // taken out of the page: its scroll position is not the reader's
		this.#scrollTop = log.scrollTop;
		this.#stick = log.scrollHeight - log.scrollTop - log.clientHeight <= STICK_DISTANCE;
		this.#jump.hidden = this.#stick;
	};

	#onJump = (): void => {
		this.#stick = true;
		this.#toBottom();
		this.#focusInput();
	};

	/** Send a request to the kernel; any action clears the last notice. */
	#request(request: ChatRequest): void {
		this.#notice.textContent = "";
		this.#model.send(request);
	}

	#submit = (): void => {
		const text = this.#input.value;
		if (this.#streaming || !text.trim()) return;
		this.#request({ kind: "send", text });
		this.#input.value = "";
		this.#grow();
		// Whoever sends wants to see the answer.
		this.#stick = true;
		this.#toBottom();
	};

	#onStop = (): void => {
		if (this.#streaming) this.#request({ kind: "stop" });
	};

	#onClear = (): void => {
		if (!this.#streaming) this.#request({ kind: "clear" });
	};

	#onInputKey = (event: KeyboardEvent): void => {
		if (event.key === "Enter" && !event.shiftKey && !composing(event)) {
			// While an answer streams the text stays in the box, unsent.
			event.preventDefault();
			this.#submit();
		} else if (event.key === "Escape" && this.#streaming) {
			event.preventDefault();
			this.#onStop();
		}
	};

	/** Grow the input with its text; CSS caps the height, then it scrolls. */
	#grow = (): void => {
		const input = this.#input;
		input.style.height = "auto";
		if (input.value) input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
		else input.style.removeProperty("height");
	};

	#focusInput(): void {
		this.#input.focus({ preventScroll: true });
	}

	/** Code blocks are re-rendered while they stream, so their buttons are handled here, once. */
	#onLogClick = (event: MouseEvent): void => {
		const target = event.target instanceof Element ? event.target : null;
		const copy = target?.closest<HTMLButtonElement>("button.nbstream-copy-code");
		const code = copy?.parentElement?.querySelector("pre");
		if (copy && code) this.#copy(code.textContent ?? "", copy);
	};

	#copy(text: string, target: HTMLButtonElement): void {
		const label = target.getAttribute("aria-label") ?? "";
		void copyText(text, this.root).then((copied) => {
			const feedback = copied ? "Copied" : "Copy failed";
			target.textContent = feedback;
			target.setAttribute("aria-label", feedback);
			target.classList.add("nbstream-copied");
			const timer = setTimeout(() => {
				this.#timers.delete(timer);
				target.textContent = "Copy";
				target.setAttribute("aria-label", label);
				target.classList.remove("nbstream-copied");
			}, FEEDBACK_MS);
			this.#timers.add(timer);
		});
	}

	#onMessage = (message: unknown): void => {
		if (typeof message !== "object" || message === null) return;
		const { kind, text } = message as { kind?: unknown; text?: unknown };
		if (kind === "notice" && typeof text === "string") this.#notice.textContent = text;
	};

	readonly #host = {
		send: (request: ChatRequest): void => {
			this.#request(request);
			// Regenerate, Retry and an edit start an answer: whoever asks wants to see it.
			this.#stick = true;
			this.#toBottom();
		},
		copy: (text: string, target: HTMLButtonElement): void => this.#copy(text, target),
		focusInput: (): void => this.#focusInput(),
	};
}

/** Keys pressed in the chat are the chat's: the notebook must not run cells or switch modes. */
function stopPropagation(event: Event): void {
	event.stopPropagation();
}
