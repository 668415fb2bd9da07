/**
 * What happens around a stream rather than in it: the kernel going away, a stream that
 * stalls, the footer, and an output re-rendered to carry its static copy.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DISCONNECTED } from "../src/disconnect";
import widget from "../src/index";
import { STALL_MS } from "../src/view";
import { FakeChatModel, KernelTurn } from "./chat-helpers";
import { FakeModel, startStream } from "./fake-model";

let parent: HTMLElement;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
});

afterEach(() => {
	parent.remove();
	vi.useRealTimers();
});

async function frames(n = 2): Promise<void> {
	for (let i = 0; i < n; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
}

describe("the kernel goes away mid-stream", () => {
	it("ends a StreamView's stream locally and keeps the text", async () => {
		const model = new FakeModel();
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		startStream(model, 1);
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "Half an answer" });
		model.trigger("comm_live_update");
		await frames();
		const view = parent.querySelector(".nbstream-view") as HTMLElement;
		expect(view.dataset.streaming).toBe("false");
		expect(view.querySelector(".nbstream-cursor")).toBeNull();
		expect(view.querySelector(".nbstream-body")?.textContent).toContain("Half an answer");
		expect(view.querySelector(".nbstream-error")?.textContent).toBe(DISCONNECTED);
		expect(model.sent).toEqual([]);
		cleanup();
		dispose();
	});

	it("leaves a finished StreamView alone", async () => {
		const model = new FakeModel({ content: "done", is_streaming: false, error: null, _stream: 1 });
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		model.trigger("comm_live_update");
		await frames();
		expect(parent.querySelector(".nbstream-error")).toBeNull();
		cleanup();
		dispose();
	});

	it("ends a Chat's streaming answer as an error with its text", async () => {
		const model = new FakeChatModel();
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		const turn = new KernelTurn(model, "Hi");
		turn.delta("Part of it");
		model.trigger("comm_live_update");
		await frames();
		const answer = parent.querySelector('.nbstream-msg[data-role="assistant"]') as HTMLElement;
		expect(answer.dataset.status).toBe("error");
		expect(answer.querySelector(".nbstream-body")?.textContent).toContain("Part of it");
		expect(answer.querySelector(".nbstream-error")?.textContent).toContain(DISCONNECTED);
		expect(model.get("is_streaming")).toBe(false);
		cleanup();
		dispose();
	});
});

describe("a stream that stalls", () => {
	it("shows the waiting dots again after the text, and hides them when text comes", () => {
		vi.useFakeTimers();
		const model = new FakeModel();
		widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		startStream(model, 1);
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "So far" });
		vi.advanceTimersByTime(100); // the frame
		const waiting = (): Element | null => parent.querySelector(".nbstream-waiting");
		expect(waiting()).toBeNull();
		vi.advanceTimersByTime(STALL_MS);
		expect(waiting()).not.toBeNull();
		expect(parent.querySelector(".nbstream-body")?.textContent).toContain("So far");
		model.receive({ kind: "delta", stream: 1, offset: 6, text: " and more" });
		vi.advanceTimersByTime(100);
		expect(waiting()).toBeNull();
		cleanup();
	});
});

describe("the footer", () => {
	it("flags a cut-off answer and shows token usage, only once the stream ends", async () => {
		const model = new FakeModel();
		widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		startStream(model, 1);
		model.kernelUpdate({ finish_reason: "length", usage: { prompt_tokens: 12, completion_tokens: 3456 } });
		await frames();
		expect(parent.querySelector(".nbstream-footer")).toBeNull();
		model.receive({ kind: "end", stream: 1, offset: 0, text: "x", length: 1, error: null });
		await frames();
		const footer = parent.querySelector(".nbstream-footer") as HTMLElement;
		expect(footer.dataset.flag).toBe("length");
		expect(footer.textContent).toContain("token limit");
		expect(footer.textContent).toContain("12 prompt + 3,456 completion tokens");
		cleanup();
	});

	it("shows a refusal as text, never as markup", async () => {
		const model = new FakeModel({
			content: "",
			is_streaming: false,
			error: null,
			_stream: 1,
			refusal: "<img src=x onerror=alert(1)> I can't help with that.",
		});
		widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		const refusal = parent.querySelector(".nbstream-refusal");
		expect(refusal?.textContent).toContain("I can't help with that.");
		expect(parent.querySelector("img")).toBeNull();
		cleanup();
	});
});

/** A chat rendered into an output in the page, with the reader typing in it. */
async function typingInChat(): Promise<{
	model: FakeChatModel;
	first: HTMLElement;
	input: HTMLTextAreaElement;
}> {
	const model = new FakeChatModel();
	widget.initialize({ model });
	const first = document.createElement("div");
	parent.append(first);
	widget.render({ model, el: first });
	await frames();
	const input = first.querySelector("textarea") as HTMLTextAreaElement;
	input.focus();
	return { model, first, input };
}

describe("an output re-rendered with its static copy", () => {
	it("adopts the old view instead of drawing a new one", async () => {
		const model = new FakeModel({ content: "**kept**", is_streaming: false, error: null, _stream: 1 });
		widget.initialize({ model });
		const first = document.createElement("div");
		parent.append(first);
		const cleanupFirst = widget.render({ model, el: first });
		await frames();
		const root = first.querySelector(".nbstream-view");
		// What JupyterLab does on update_display_data: old element out, new view rendered.
		first.remove();
		const second = document.createElement("div");
		const cleanupSecond = widget.render({ model, el: second });
		parent.append(second);
		expect(second.querySelector(".nbstream-view")).toBe(root);
		expect(parent.querySelectorAll(".nbstream-view")).toHaveLength(1);
		// The view lives until every output that showed it is gone.
		cleanupFirst();
		expect(second.querySelector(".nbstream-view")).toBe(root);
		cleanupSecond();
		expect(second.querySelector(".nbstream-view")).toBeNull();
	});

	it("does not take a view that was never in the page (two outputs rendering at once)", () => {
		const model = new FakeModel({ content: "x", is_streaming: false, error: null, _stream: 1 });
		widget.initialize({ model });
		const a = document.createElement("div");
		const b = document.createElement("div");
		const cleanups = [widget.render({ model, el: a }), widget.render({ model, el: b })];
		expect(a.querySelector(".nbstream-view")).not.toBeNull();
		expect(b.querySelector(".nbstream-view")).not.toBeNull();
		for (const cleanup of cleanups) cleanup();
	});

	it("keeps a chat's draft and focus", async () => {
		const { model, first, input } = await typingInChat();
		input.value = "half-typed question";
		first.remove();
		const second = document.createElement("div");
		parent.append(second);
		widget.render({ model, el: second });
		expect(second.querySelector("textarea")).toBe(input);
		expect(input.value).toBe("half-typed question");
		expect(document.activeElement).toBe(input);
	});

	it("gives the focus back once the new output is in the page, as JupyterLab does it", async () => {
		const { model, first, input } = await typingInChat();
		// Chromium fires the blur of a removal while the input is still in the page.
		input.dispatchEvent(new FocusEvent("blur"));
		first.remove();
		// JupyterLab renders into an element that it puts in the page afterwards.
		const second = document.createElement("div");
		widget.render({ model, el: second });
		await frames(1);
		expect(document.activeElement).not.toBe(input);
		parent.append(second);
		await frames(2);
		expect(second.querySelector("textarea")).toBe(input);
		expect(document.activeElement).toBe(input);
	});

	it("leaves the focus where the reader put it after leaving the message box", async () => {
		const { model, first } = await typingInChat();
		const elsewhere = document.createElement("button");
		parent.append(elsewhere);
		elsewhere.focus();
		await frames(1);
		first.remove();
		const second = document.createElement("div");
		widget.render({ model, el: second });
		parent.append(second);
		await frames(2);
		expect(document.activeElement).toBe(elsewhere);
	});
});

/**
 * marimo's model follows anywidget's spec, `set(key, value)`, and stores an object
 * passed alone under one junk key, as this one does.
 */
class KeyValueModel extends FakeModel {
	override set(values: object | string, value?: unknown): void {
		if (typeof values === "string") super.set({ [values]: value });
		else super.set({ [String(values)]: undefined } as never);
	}
}

describe("a model that only takes set(key, value), like marimo's", () => {
	it("still shows the streamed text and its end", async () => {
		const model = new KeyValueModel();
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		startStream(model, 1);
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "Streamed " });
		model.receive({ kind: "delta", stream: 1, offset: 9, text: "**in marimo**" });
		await frames();
		const view = parent.querySelector(".nbstream-view") as HTMLElement;
		expect(view.querySelector(".nbstream-body")?.textContent?.trim()).toBe("Streamed in marimo");
		expect(view.querySelector(".nbstream-body strong")).not.toBeNull();
		expect(view.dataset.streaming).toBe("true");
		cleanup();
		dispose();
	});
});

describe("a model that comes to life after a stream's messages went by", () => {
	it("asks for the whole state at once, and shows it", async () => {
		// As in marimo, where `initialize` runs only when the widget is first shown: the
		// stored state still says "streaming", and the deltas and the end were missed.
		const model = new FakeModel({ content: "", is_streaming: true, error: null, _stream: 3 });
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		expect(model.sent).toEqual([{ kind: "resync", stream: 3 }]);
		model.receive({
			kind: "sync",
			stream: 3,
			content: "The *whole* answer",
			is_streaming: false,
			error: null,
		});
		await frames();
		const view = parent.querySelector(".nbstream-view") as HTMLElement;
		expect(view.dataset.streaming).toBe("false");
		expect(view.querySelector(".nbstream-waiting")).toBeNull();
		expect(view.querySelector(".nbstream-body")?.textContent?.trim()).toBe("The whole answer");
		cleanup();
		dispose();
	});

	it("keeps applying deltas that follow on while the reply is on its way", async () => {
		// In marimo the reply waits for the streaming cell to end: the stream must not.
		const model = new FakeModel({ content: "", is_streaming: true, error: null, _stream: 1 });
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "Still " });
		model.receive({ kind: "delta", stream: 1, offset: 6, text: "streaming" });
		await frames();
		const view = parent.querySelector(".nbstream-view") as HTMLElement;
		expect(view.querySelector(".nbstream-body")?.textContent?.trim()).toBe("Still streaming");
		expect(view.querySelector(".nbstream-cursor")).not.toBeNull();
		expect(model.sent).toEqual([{ kind: "resync", stream: 1 }]);
		cleanup();
		dispose();
	});

	it("asks nothing of a model that is not streaming", () => {
		const model = new FakeModel({ content: "done", is_streaming: false, error: null, _stream: 2 });
		const dispose = widget.initialize({ model });
		expect(model.sent).toEqual([]);
		dispose();
	});
});
