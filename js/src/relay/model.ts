/**
 * The page's stand-in for a widget model: StreamView reads its traits and listens for
 * their change events, exactly as it does in a notebook, so the page shows answers
 * with the very renderer the widgets use.
 */
import type { Handler, StreamModel, Traits } from "../types";

export class PageModel implements StreamModel {
	#traits: Traits = { content: "", is_streaming: false, error: null, _stream: 0 };
	readonly #handlers = new Map<string, Set<Handler>>();

	get<K extends keyof Traits>(key: K): Traits[K] {
		return this.#traits[key];
	}

	/** Set several traits, then fire their change events (all values already new). */
	set(values: Partial<Traits>): void {
		const changed = (Object.keys(values) as (keyof Traits)[]).filter(
			(key) => this.#traits[key] !== values[key],
		);
		this.#traits = { ...this.#traits, ...values };
		for (const key of changed) this.#fire(`change:${key}`);
		if (changed.length > 0) this.#fire("change");
	}

	on(event: string, callback: Handler): void {
		let handlers = this.#handlers.get(event);
		if (handlers === undefined) {
			handlers = new Set();
			this.#handlers.set(event, handlers);
		}
		handlers.add(callback);
	}

	off(event?: string | null, callback?: Handler | null): void {
		if (event == null) {
			this.#handlers.clear();
		} else if (callback == null) {
			this.#handlers.delete(event);
		} else {
			this.#handlers.get(event)?.delete(callback);
		}
	}

	/** The kernel's resync requests have no kernel here: the page holds the whole text. */
	send(): void {}

	#fire(event: string): void {
		for (const handler of this.#handlers.get(event) ?? []) (handler as () => void)();
	}
}
