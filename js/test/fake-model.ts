/**
 * A small stand-in for an anywidget model with Backbone's semantics: `set` with an
 * object assigns every value first and then fires one `change:<name>` per changed
 * value, synchronously.
 */
import type { KernelMessage, ResyncRequest, StreamModel, Traits } from "../src/types";

type Callback = (...args: never[]) => void;

export class FakeModel implements StreamModel {
	state: Traits;
	/** Every `set` call, in order: the tests count them. */
	sets: Partial<Traits>[] = [];
	/** Every message sent to the kernel. */
	sent: ResyncRequest[] = [];
	#listeners = new Map<string, Set<Callback>>();

	constructor(state: Partial<Traits> = {}) {
		this.state = { content: "", is_streaming: false, error: null, _stream: 0, ...state };
	}

	get<K extends keyof Traits>(key: K): Traits[K] {
		return this.state[key];
	}

	set(values: Partial<Traits>): void {
		this.sets.push({ ...values });
		this.#assign(values);
	}

	on(event: string, callback: Callback): void {
		const set = this.#listeners.get(event) ?? new Set();
		this.#listeners.set(event, set);
		set.add(callback);
	}

	off(event?: string | null, callback?: Callback | null): void {
		if (!event) this.#listeners.clear();
		else if (!callback) this.#listeners.delete(event);
		else this.#listeners.get(event)?.delete(callback);
	}

	send(content: ResyncRequest): void {
		this.sent.push(content);
	}

	/** A state update from the kernel (not recorded in `sets`). */
	kernelUpdate(values: Partial<Traits>): void {
		this.#assign(values);
	}

	/** A custom message from the kernel. */
	receive(message: KernelMessage | Record<string, unknown>): void {
		this.#emit("msg:custom", message, []);
	}

	/** How many callbacks are subscribed, over all events. */
	get listenerCount(): number {
		let n = 0;
		for (const set of this.#listeners.values()) n += set.size;
		return n;
	}

	#assign(values: Partial<Traits>): void {
		const changed = (Object.keys(values) as (keyof Traits)[]).filter((k) => this.state[k] !== values[k]);
		this.state = { ...this.state, ...values };
		for (const key of changed) this.#emit(`change:${key}`);
		if (changed.length) this.#emit("change");
	}

	#emit(event: string, ...args: unknown[]): void {
		for (const callback of Array.from(this.#listeners.get(event) ?? [])) {
			(callback as (...a: unknown[]) => void)(...args);
		}
	}
}

/** Start a stream the way the kernel does: one ordinary state update. */
export function startStream(model: FakeModel, stream: number): void {
	model.kernelUpdate({ content: "", is_streaming: true, error: null, _stream: stream });
}

/** A frame scheduler the test advances by hand. */
export class ManualFrames {
	#next = 1;
	#pending = new Map<number, () => void>();

	request(callback: () => void): number {
		const handle = this.#next++;
		this.#pending.set(handle, callback);
		return handle;
	}

	cancel(handle: number): void {
		this.#pending.delete(handle);
	}

	get pending(): number {
		return this.#pending.size;
	}

	/** Run the callbacks due now, as the browser would before the next paint. */
	flush(): void {
		const due = Array.from(this.#pending.values());
		this.#pending.clear();
		for (const callback of due) callback();
	}
}
