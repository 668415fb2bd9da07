/**
 * A small stand-in for an anywidget model with Backbone's semantics: `set` with an
 * object assigns every value first and then fires one `change:<name>` per changed
 * value, synchronously.
 */
import type { KernelMessage, ResyncRequest, StreamModel, Traits } from "../src/types";

type Callback = (...args: never[]) => void;

/** The model's machinery, for any set of traits (`T`) and messages to the kernel (`Sent`). */
export class FakeModelOf<T extends object, Sent> {
	state: T;
	/** Every `set` call, in order: the tests count them. */
	sets: Partial<T>[] = [];
	/** Every message sent to the kernel. */
	sent: Sent[] = [];
	#listeners = new Map<string, Set<Callback>>();

	constructor(state: T) {
		this.state = state;
	}

	get<K extends keyof T>(key: K): T[K] {
		return this.state[key];
	}

	set(values: Partial<T>): void {
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

	send(content: Sent, _callbacks?: unknown, buffers?: ArrayBuffer[]): void {
		this.sent.push(content);
		if (buffers) this.buffers.push(buffers);
	}

	/** The binary buffers of each message sent with some. */
	readonly buffers: ArrayBuffer[][] = [];

	/** A state update from the kernel (not recorded in `sets`). */
	kernelUpdate(values: Partial<T>): void {
		this.#assign(values);
	}

	/** An event from the widget manager itself, e.g. `comm_live_update` on a kernel restart. */
	trigger(event: string): void {
		this.#emit(event);
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

	#assign(values: Partial<T>): void {
		const changed = (Object.keys(values) as (keyof T)[]).filter((k) => this.state[k] !== values[k]);
		this.state = { ...this.state, ...values };
		for (const key of changed) this.#emit(`change:${String(key)}`);
		if (changed.length) this.#emit("change");
	}

	#emit(event: string, ...args: unknown[]): void {
		for (const callback of Array.from(this.#listeners.get(event) ?? [])) {
			(callback as (...a: unknown[]) => void)(...args);
		}
	}
}

/** A StreamView model. */
export class FakeModel extends FakeModelOf<Traits, ResyncRequest> implements StreamModel {
	constructor(state: Partial<Traits> = {}) {
		super({ content: "", is_streaming: false, error: null, _stream: 0, ...state });
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
