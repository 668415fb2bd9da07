/** How views redraw: at most once per animation frame, however many changes arrive in it. */
import type { ModelEvents } from "./types";

/** When views redraw: on animation frames in the browser; tests pass their own scheduler. */
export interface FrameScheduler {
	request(callback: () => void): number;
	cancel(handle: number): void;
}

export const animationFrames: FrameScheduler = {
	request: (callback) => requestAnimationFrame(callback),
	cancel: (handle) => cancelAnimationFrame(handle),
};

/**
 * A view's redraws: every change event asks for one on the next frame, so a frame in
 * which a hundred deltas arrive still costs one redraw. Both views draw through one.
 */
export class FrameLoop {
	readonly #model: ModelEvents;
	readonly #events: readonly string[];
	readonly #draw: () => void;
	readonly #scheduler: FrameScheduler;
	#frame: number | null = null;

	constructor(model: ModelEvents, events: readonly string[], draw: () => void, scheduler: FrameScheduler) {
		this.#model = model;
		this.#events = events;
		this.#draw = draw;
		this.#scheduler = scheduler;
		for (const event of events) model.on(event, this.#schedule);
	}

	/** Redraw now; the frame asked for is then not needed. */
	flush(): void {
		this.#cancel();
		this.#draw();
	}

	/** Stop listening and drop the frame asked for. Safe to call twice. */
	destroy(): void {
		for (const event of this.#events) this.#model.off(event, this.#schedule);
		this.#cancel();
	}

	#cancel(): void {
		if (this.#frame !== null) this.#scheduler.cancel(this.#frame);
		this.#frame = null;
	}

	readonly #schedule = (): void => {
		if (this.#frame !== null) return;
		this.#frame = this.#scheduler.request(() => {
			this.#frame = null;
			this.flush();
		});
	};
}
