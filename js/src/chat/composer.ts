/**
 * Where the reader writes: the message box and its Send / Stop button. Enter sends,
 * Shift+Enter starts a new line, Escape stops a streaming answer.
 */
import { button, composing, element } from "../dom";
import type { ChatRequest } from "./types";

/** What the composer needs from the chat around it. */
export interface ComposerHost {
	request(request: ChatRequest): void;
	/** A message went out: its answer should come into view. */
	sent(): void;
}

export class Composer {
	readonly root: HTMLDivElement;
	readonly #host: ComposerHost;
	readonly #input: HTMLTextAreaElement;
	readonly #send: HTMLButtonElement;
	readonly #stop: HTMLButtonElement;
	#streaming = false;
	/** Whether the reader was typing, to give the focus back after a move (see refocus). */
	#typing = false;

	constructor(host: ComposerHost) {
		this.#host = host;
		this.root = element("div", "nbstream-chat-compose");
		const input = element("textarea", "nbstream-chat-input");
		input.rows = 1;
		input.setAttribute("aria-label", "Message");
		input.placeholder = "Message (Enter to send, Shift+Enter for a new line)";
		this.#input = input;
		this.#send = button("nbstream-send", "Send message", "Send");
		this.#stop = button("nbstream-stop", "Stop answer", "Stop");
		this.root.append(input, this.#send, this.#stop);

		this.#send.addEventListener("click", this.#submit);
		this.#stop.addEventListener("click", this.#onStop);
		input.addEventListener("keydown", this.#onKey);
		input.addEventListener("input", this.#grow);
		input.addEventListener("focus", () => {
			this.#typing = true;
		});
		input.addEventListener("blur", () => {
			// Leaving the page also blurs; that is not the reader moving on.
			if (input.isConnected) this.#typing = false;
		});
	}

	/** Send ↔ Stop as an answer starts and ends, keeping keyboard focus on whichever is shown. */
	update(streaming: boolean): void {
		this.#streaming = streaming;
		if (this.#stop.hidden === !streaming && this.#send.hidden === streaming) return;
		const from = streaming ? this.#send : this.#stop;
		const to = streaming ? this.#stop : this.#send;
		const hadFocus = document.activeElement === from;
		from.hidden = true;
		to.hidden = false;
		if (hadFocus) to.focus({ preventScroll: true });
	}

	focus(): void {
		this.#input.focus({ preventScroll: true });
	}

	/** Focus the input again if the reader was typing: taking it out of the page dropped the focus. */
	refocus(): void {
		if (this.#typing) this.focus();
	}

	#submit = (): void => {
		const text = this.#input.value;
		if (this.#streaming || !text.trim()) return;
		this.#host.request({ kind: "send", text });
		this.#input.value = "";
		this.#grow();
		this.#host.sent();
	};

	#onStop = (): void => {
		if (this.#streaming) this.#host.request({ kind: "stop" });
	};

	#onKey = (event: KeyboardEvent): void => {
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
}
