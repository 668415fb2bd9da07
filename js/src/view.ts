/**
 * One view of a model: builds the DOM once, then redraws from the model's attributes
 * at most once per animation frame, however many deltas arrive in between.
 */
import { element } from "./dom";
import { animationFrames, type FrameScheduler } from "./frames";
import { MarkdownView } from "./markdown-view";
import type { StreamModel } from "./types";

export { animationFrames, type FrameScheduler } from "./frames";

const WATCHED = [
	"change:content",
	"change:is_streaming",
	"change:error",
	"change:_stream",
	"change:allow_images",
];

export class StreamView {
	readonly root: HTMLDivElement;
	readonly #model: StreamModel;
	readonly #scheduler: FrameScheduler;
	readonly #markdown: MarkdownView;
	readonly #waiting: HTMLDivElement;
	readonly #status: HTMLDivElement;
	#error: HTMLDivElement | null = null;
	#frame: number | null = null;
	/** The stream this view saw running and has not yet announced the end of. */
	#running: number | null = null;

	constructor(model: StreamModel, parent: HTMLElement, scheduler: FrameScheduler = animationFrames) {
		this.#model = model;
		this.#scheduler = scheduler;

		this.root = element("div", "nbstream-view");
		const body = element("div", "nbstream-body");
		this.#markdown = new MarkdownView(body);

		this.#waiting = element("div", "nbstream-waiting");
		const dots = element("span", "nbstream-dots");
		dots.setAttribute("aria-hidden", "true");
		dots.append(element("span", ""), element("span", ""), element("span", ""));
		this.#waiting.append(dots, element("span", "nbstream-sr-only", "Waiting for the model…"));

		// A live region must be in the page before its text changes, or nothing is announced.
		this.#status = element("div", "nbstream-status nbstream-sr-only");
		this.#status.setAttribute("aria-live", "polite");
		this.#status.setAttribute("role", "status");

		this.root.append(body, this.#status);
		parent.append(this.root);

		for (const event of WATCHED) model.on(event, this.#schedule);
		// The first paint is synchronous, so a re-rendered output never flashes empty.
		this.flush();
	}

	/** Redraw now from the model's current attributes. */
	flush(): void {
		if (this.#frame !== null) {
			this.#scheduler.cancel(this.#frame);
			this.#frame = null;
		}
		const model = this.#model;
		const text = model.get("content") ?? "";
		const streaming = Boolean(model.get("is_streaming"));
		const error = model.get("error") || null;

		this.root.dataset.streaming = String(streaming);
		if (streaming) this.root.setAttribute("aria-busy", "true");
		else this.root.removeAttribute("aria-busy");

		// In the page only while waiting, so `.nbstream-waiting` present means shown.
		if (streaming && text === "") {
			if (!this.#waiting.isConnected) this.root.prepend(this.#waiting);
		} else {
			this.#waiting.remove();
		}
		this.#markdown.setAllowImages(Boolean(model.get("allow_images")));
		this.#markdown.update(text, streaming);
		this.#showError(error);
		this.#announce(streaming, error);
	}

	/** Stop listening and leave the page as it was. Safe to call twice. */
	destroy(): void {
		for (const event of WATCHED) this.#model.off(event, this.#schedule);
		if (this.#frame !== null) this.#scheduler.cancel(this.#frame);
		this.#frame = null;
		this.root.remove();
	}

	#schedule = (): void => {
		if (this.#frame !== null) return;
		this.#frame = this.#scheduler.request(() => {
			this.#frame = null;
			this.flush();
		});
	};

	/** The error goes below the partial text, which stays: it is what the model managed to say. */
	#showError(error: string | null): void {
		if (error === null) {
			this.#error?.remove();
			this.#error = null;
			return;
		}
		if (!this.#error) {
			this.#error = element("div", "nbstream-error");
			this.#error.setAttribute("role", "alert");
			this.#status.before(this.#error);
		}
		if (this.#error.textContent !== error) this.#error.textContent = error;
	}

	/** Tell screen readers once per stream that it finished, not once per token. */
	#announce(streaming: boolean, error: string | null): void {
		const stream = this.#model.get("_stream");
		if (streaming) {
			if (this.#running !== stream) {
				this.#running = stream;
				this.#status.textContent = "";
			}
		} else if (this.#running !== null) {
			this.#running = null;
			this.#status.textContent = error ? "Answer stopped with an error." : "Answer complete.";
		}
	}
}
