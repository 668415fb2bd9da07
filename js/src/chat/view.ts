/**
 * One view of a Chat model: builds the DOM once, then redraws from the model's
 * attributes at most once per animation frame. It puts together the header, the turn
 * list (turns.ts), scroll-stick (scroll.ts) and the composer (composer.ts), and owns
 * what they share: requests to the kernel, notices, copy feedback, announcements.
 *
 * It never scrolls the notebook: only the log's own scrollTop is set, and every
 * focus() passes preventScroll.
 */
import { button, element, liveRegion, setText, whenConnected } from "../dom";
import { animationFrames, FrameLoop, type FrameScheduler } from "../frames";
import { copyText } from "./clipboard";
import { Composer } from "./composer";
import { str } from "./format";
import type { MessageHost } from "./message";
import { ScrollStick } from "./scroll";
import { TurnList, validTurns } from "./turns";
import type { ChatModel, ChatRequest, Turn } from "./types";

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

/** How long "Copied" shows on a copy button. */
const FEEDBACK_MS = 1500;

export class ChatView {
	readonly root: HTMLDivElement;
	readonly #model: ChatModel;
	readonly #frames: FrameLoop;
	readonly #header: HTMLDivElement;
	readonly #modelName: HTMLSpanElement;
	readonly #backend: HTMLSpanElement;
	readonly #clear: HTMLButtonElement;
	readonly #turns: TurnList;
	readonly #scroll: ScrollStick;
	readonly #composer: Composer;
	readonly #status: HTMLDivElement;
	readonly #notice: HTMLDivElement;
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	#streaming = false;
	/** A redraw is due in a second, for the running cards' elapsed time. */
	#tick = false;
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

		this.#composer = new Composer({
			request: (request, buffers) => this.#request(request, buffers),
			notice: (text) => {
				this.#notice.textContent = text;
			},
			sent: () => this.#scroll.follow(),
		});
		this.#turns = new TurnList(model, this.#host);
		this.#scroll = new ScrollStick(this.#turns.log, () => this.#composer.focus());
		const main = element("div", "nbstream-chat-main");
		main.append(this.#turns.log, this.#scroll.jump);

		this.#status = liveRegion("nbstream-status nbstream-sr-only");
		this.#notice = liveRegion("nbstream-notice");

		this.root.append(this.#header, main, this.#notice, this.#composer.root, this.#status);
		parent.append(this.root);

		this.#clear.addEventListener("click", () => {
			if (!this.#streaming) this.#request({ kind: "clear" });
		});
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
		this.#composer.update(streaming);

		this.#turns.draw(turns, streaming);
		this.#announce(turns, streaming);
		this.#scroll.update();
		// Running cards count their seconds: redraw about once a second while any runs.
		// (Only a tool card has the status "running".)
		if (!this.#tick && this.root.querySelector("[data-status=running]")) {
			const tick = setTimeout(() => {
				this.#timers.delete(tick);
				this.#tick = false;
				this.flush();
			}, 1000);
			this.#timers.add(tick);
			this.#tick = true;
		}
	}

	/**
	 * Move into another output element as it is (see ../index.ts): the draft, the
	 * scroll position and, if the reader was typing, the focus come along.
	 */
	moveTo(parent: HTMLElement): void {
		parent.append(this.root);
		whenConnected(this.root, () => {
			this.#scroll.restore();
			this.#composer.refocus();
		});
	}

	/** Stop listening and leave the page as it was. Safe to call twice. */
	destroy(): void {
		this.#frames.destroy();
		this.#model.off("msg:custom", this.#onMessage);
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.root.remove();
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

	/** Send a request to the kernel; any action clears the last notice. */
	#request(request: ChatRequest, buffers?: ArrayBuffer[]): void {
		this.#notice.textContent = "";
		if (buffers?.length) this.#model.send(request, undefined, buffers);
		else this.#model.send(request);
	}

	#copy(text: string, target: HTMLButtonElement, html?: string): void {
		const label = target.getAttribute("aria-label") ?? "";
		const idle = target.textContent ?? "Copy";
		void copyText(text, this.root, html).then((copied) => {
			const feedback = copied ? "Copied" : "Copy failed";
			target.textContent = feedback;
			target.setAttribute("aria-label", feedback);
			target.classList.add("nbstream-copied");
			const timer = setTimeout(() => {
				this.#timers.delete(timer);
				target.textContent = idle;
				target.setAttribute("aria-label", label);
				target.classList.remove("nbstream-copied");
			}, FEEDBACK_MS);
			this.#timers.add(timer);
		});
	}

	#onMessage = (message: unknown): void => {
		if (typeof message !== "object" || message === null) return;
		const { kind, text, draft } = message as { kind?: unknown; text?: unknown; draft?: unknown };
		if (kind === "notice" && typeof text === "string") this.#notice.textContent = text;
		if (kind === "notice" && typeof draft === "string") this.#composer.restore(draft);
	};

	readonly #host: MessageHost = {
		send: (request: ChatRequest): void => {
			this.#request(request);
			// Regenerate, Retry and an edit start an answer: whoever asks wants to see it.
			this.#scroll.follow();
		},
		copy: (text: string, target: HTMLButtonElement, html?: string): void => this.#copy(text, target, html),
		focusInput: (): void => this.#composer.focus(),
		announce: (text: string): void => {
			this.#status.textContent = text;
		},
	};
}

/** Keys pressed in the chat are the chat's: the notebook must not run cells or switch modes. */
function stopPropagation(event: Event): void {
	event.stopPropagation();
}
