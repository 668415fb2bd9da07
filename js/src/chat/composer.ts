/**
 * Where the reader writes: the message box and its Send / Stop button. Enter sends,
 * Shift+Enter starts a new line, Escape stops a streaming answer. Files come along from
 * the Attach button, a paste into the box or a drop onto it (pending.ts).
 */
import { button, composing, element } from "../dom";
import { PendingFiles } from "./pending";
import type { ChatRequest } from "./types";

/** What the composer needs from the chat around it. */
export interface ComposerHost {
	request(request: ChatRequest, buffers?: ArrayBuffer[]): void;
	/** Tell the reader why something they did was refused. */
	notice(text: string): void;
	/** A message went out: its answer should come into view. */
	sent(): void;
}

export class Composer {
	readonly root: HTMLDivElement;
	readonly #host: ComposerHost;
	readonly #input: HTMLTextAreaElement;
	readonly #send: HTMLButtonElement;
	readonly #stop: HTMLButtonElement;
	readonly #files: PendingFiles;
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
		this.#files = new PendingFiles(
			() => this.#input.focus({ preventScroll: true }),
			(text) => host.notice(text),
		);
		const attach = button("nbstream-attach", "Attach files", "📎");
		const picker = element("input", "nbstream-file-picker nbstream-sr-only");
		picker.type = "file";
		picker.multiple = true;
		picker.tabIndex = -1;
		picker.setAttribute("aria-hidden", "true");
		attach.addEventListener("click", () => picker.click());
		picker.addEventListener("change", () => {
			this.#files.add(Array.from(picker.files ?? []));
			picker.value = "";
		});
		this.root.append(this.#files.root, attach, picker, input, this.#send, this.#stop);
		input.addEventListener("paste", (event) => {
			const files = Array.from(event.clipboardData?.files ?? []);
			if (!files.length) return; // text pastes as text
			event.preventDefault();
			this.#files.add(files);
		});
		this.root.addEventListener("dragover", (event) => {
			if (!event.dataTransfer?.types.includes("Files")) return;
			event.preventDefault(); // allows the drop, and keeps JupyterLab from taking it
			event.dataTransfer.dropEffect = "copy";
		});
		this.root.addEventListener("drop", (event) => {
			const files = Array.from(event.dataTransfer?.files ?? []);
			if (!files.length) return;
			event.preventDefault();
			event.stopPropagation();
			this.#files.add(files);
		});

		this.#send.addEventListener("click", this.#submit);
		this.#stop.addEventListener("click", this.#onStop);
		input.addEventListener("keydown", this.#onKey);
		input.addEventListener("input", this.#grow);
		input.addEventListener("focus", () => {
			this.#typing = true;
		});
		input.addEventListener("blur", () => {
			// Leaving the page also blurs, and Chromium fires that blur while the input is
			// still connected: decide once the removal is done. Not the reader moving on
			// if the input left the page, or is back in it and focused (moveTo).
			queueMicrotask(() => {
				if (input.isConnected && document.activeElement !== input) this.#typing = false;
			});
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

	/** Put back words the kernel refused to send, unless the reader typed new ones. */
	restore(draft: string): void {
		if (this.#input.value || !draft) return;
		this.#input.value = draft;
		this.#grow();
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
		if (this.#streaming || (!text.trim() && !this.#files.count)) return;
		this.#input.value = "";
		this.#grow();
		if (this.#files.count) {
			void this.#files.take().then(({ headers, buffers }) => {
				this.#host.request({ kind: "send", text, files: headers }, buffers);
				this.#host.sent();
			});
			return;
		}
		this.#host.request({ kind: "send", text });
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
