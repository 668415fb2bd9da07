/**
 * Scroll-stick: the log follows new text while the reader is at its bottom, and stays
 * where they left it once they scroll up; "Jump to latest" brings them back. Only the
 * log's own scrollTop is ever set, so the notebook around it never scrolls.
 */
import { button } from "../dom";

/** Within this many pixels of the bottom, the log counts as "at the bottom" and follows new text. */
const STICK_DISTANCE = 8;

export class ScrollStick {
	readonly jump: HTMLButtonElement;
	readonly #log: HTMLElement;
	/** Follow new text: the reader is at the bottom of the log (or just sent something). */
	#stick = true;
	/** Where the reader left the log (see restore). */
	#scrollTop = 0;

	/** `onJump` runs after "Jump to latest" has scrolled down. */
	constructor(log: HTMLElement, onJump: () => void) {
		this.#log = log;
		this.jump = button("nbstream-jump", "Jump to latest", "↓ Latest");
		this.jump.hidden = true;
		this.jump.addEventListener("click", () => {
			this.follow();
			onJump();
		});
		log.addEventListener("scroll", this.#onScroll);
	}

	/** After a redraw: keep the newest text in sight, if following. */
	update(): void {
		if (this.#stick) this.#toBottom();
	}

	/** Follow new text from now on: whoever sends or asks for an answer wants to see it. */
	follow(): void {
		this.#stick = true;
		this.#toBottom();
	}

	/** Back where the reader left the log: taking it out of the page reset its scroll position. */
	restore(): void {
		if (this.#stick) this.#toBottom();
		else this.#log.scrollTop = this.#scrollTop;
	}

	#toBottom(): void {
		this.#log.scrollTop = this.#log.scrollHeight;
		this.jump.hidden = true;
	}

	#onScroll = (): void => {
		const log = this.#log;
		if (!log.isConnected) return; // taken out of the page: its scroll position is not the reader's
		this.#scrollTop = log.scrollTop;
		this.#stick = log.scrollHeight - log.scrollTop - log.clientHeight <= STICK_DISTANCE;
		this.jump.hidden = this.#stick;
	};
}
