import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../src/channel";
import widget from "../src/index";
import { StreamView } from "../src/view";
import { FakeModel, ManualFrames, startStream } from "./fake-model";

let parent: HTMLElement;
let frames: ManualFrames;
let model: FakeModel;
let view: StreamView;

function mount(state: ConstructorParameters<typeof FakeModel>[0] = {}): void {
	model = new FakeModel(state);
	connect(model);
	view = new StreamView(model, parent, frames);
}

function delta(text: string, stream = 1): void {
	const offset = model.get("content").length;
	model.receive({ kind: "delta", stream, offset, text });
}

function end(error: string | null = null, stream = 1): void {
	const length = model.get("content").length;
	model.receive({ kind: "end", stream, offset: length, text: "", length, error });
}

const root = (): HTMLElement => parent.querySelector(".nbstream-view") as HTMLElement;
const body = (): HTMLElement => parent.querySelector(".nbstream-body") as HTMLElement;
/** The visible text, without the newlines markdown.ts puts between blocks. */
const text = (): string => (body().textContent ?? "").trim();
const cursor = (): Element | null => parent.querySelector(".nbstream-cursor");

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
});

afterEach(() => {
	view?.destroy();
	parent.remove();
});

describe("markdown", () => {
	it("renders a GFM table", () => {
		mount({ content: "| a | b |\n|:--|--:|\n| 1 | 2 |" });
		const table = body().querySelector("table");
		expect(table?.querySelectorAll("th")).toHaveLength(2);
		expect(table?.querySelector("td")?.textContent).toBe("1");
		expect(table?.querySelector("th")?.getAttribute("align")).toBe("left");
	});

	it("renders fenced code with its language class", () => {
		mount({ content: "```python\nprint('hi')\n```" });
		const code = body().querySelector("pre > code");
		expect(code?.className).toBe("language-python");
		expect(code?.textContent).toBe("print('hi')\n");
	});

	it("renders nested, ordered and task lists", () => {
		mount({ content: "3. one\n4. two\n   - inner\n\n- [x] done\n- [ ] todo" });
		expect(body().querySelector("ol")?.getAttribute("start")).toBe("3");
		expect(body().querySelector("ol li ul li")?.textContent).toBe("inner");
		const boxes = body().querySelectorAll("input");
		expect(boxes).toHaveLength(2);
		expect((boxes[0] as HTMLInputElement).checked).toBe(true);
		for (const box of Array.from(boxes)) expect(box.hasAttribute("disabled")).toBe(true);
	});

	it("renders emphasis, strikethrough, inline code, quotes, rules and autolinks", () => {
		mount({ content: "*a* **b** ~~c~~ `d`\n\n> quote\n\n---\n\nsee https://example.com" });
		for (const selector of ["em", "strong", "del", "code", "blockquote", "hr", "a"]) {
			expect(body().querySelector(selector), selector).not.toBeNull();
		}
		const a = body().querySelector("a") as HTMLAnchorElement;
		expect(a.getAttribute("href")).toBe("https://example.com");
		expect(a.getAttribute("target")).toBe("_blank");
		expect(a.getAttribute("rel")).toBe("noopener noreferrer");
	});

	it("shows raw HTML as text", () => {
		mount({ content: "a <b>bold</b> c\n\n<div>block</div>" });
		expect(body().querySelector("b, div")).toBeNull();
		expect(body().textContent).toContain("<b>bold</b>");
		expect(body().textContent).toContain("<div>block</div>");
	});

	it("shows images as a placeholder and never loads them", () => {
		mount({ content: "![a cat](https://example.com/cat.png)" });
		expect(body().querySelector("img")).toBeNull();
		const placeholder = body().querySelector(".nbstream-image");
		expect(placeholder?.textContent).toContain("a cat");
		expect(placeholder?.getAttribute("title")).toBe("image: https://example.com/cat.png");
	});
});

describe("streaming states", () => {
	it("shows the waiting state before the first token, then the text", () => {
		mount();
		startStream(model, 1);
		frames.flush();
		const waiting = parent.querySelector(".nbstream-waiting") as HTMLElement;
		expect(waiting.textContent).toContain("Waiting for the model");
		expect(waiting.nextElementSibling?.className).toBe("nbstream-body");
		expect(cursor()).toBeNull();

		delta("Hi");
		frames.flush();
		expect(parent.querySelector(".nbstream-waiting")).toBeNull();
		expect(text()).toBe("Hi");
	});

	it("shows no waiting state at rest, even with no text", () => {
		mount();
		expect(parent.querySelector(".nbstream-waiting")).toBeNull();
		startStream(model, 1);
		end();
		frames.flush();
		expect(parent.querySelector(".nbstream-waiting")).toBeNull();
		expect(cursor()).toBeNull();
	});

	it("marks the root while streaming", () => {
		mount();
		expect(root().dataset.streaming).toBe("false");
		expect(root().hasAttribute("aria-busy")).toBe(false);
		startStream(model, 1);
		frames.flush();
		expect(root().dataset.streaming).toBe("true");
		expect(root().getAttribute("aria-busy")).toBe("true");
		end();
		frames.flush();
		expect(root().dataset.streaming).toBe("false");
		expect(root().hasAttribute("aria-busy")).toBe(false);
	});

	it("keeps the cursor inside the last block while streaming and removes it at the end", () => {
		mount();
		startStream(model, 1);
		delta("# Title\n\nFirst para.\n\n- one\n- two");
		frames.flush();
		expect(parent.querySelectorAll(".nbstream-cursor")).toHaveLength(1);
		expect(cursor()?.getAttribute("aria-hidden")).toBe("true");
		expect(cursor()?.parentElement?.localName).toBe("li");
		expect(cursor()?.parentElement?.textContent).toBe("two");
		expect(cursor()?.previousSibling?.textContent).toBe("two");

		delta("\n\nMore **text**");
		frames.flush();
		expect(cursor()?.parentElement?.localName).toBe("p");
		expect(cursor()?.parentElement?.textContent).toBe("More text");
		expect(parent.querySelectorAll(".nbstream-cursor")).toHaveLength(1);

		end();
		frames.flush();
		expect(cursor()).toBeNull();
	});

	it("puts the cursor at the end of the last code line, not on a new line", () => {
		mount();
		startStream(model, 1);
		delta("```js\nlet x = 1;\n");
		frames.flush();
		expect(cursor()?.parentElement).toBe(body().querySelector("pre > code"));
		const before: string[] = [];
		for (let node = cursor()?.previousSibling; node; node = node.previousSibling)
			before.unshift(node.textContent ?? "");
		expect(before.join("")).toBe("let x = 1;");
		expect(cursor()?.nextSibling?.textContent).toBe("\n");
		end();
		frames.flush();
		const code = body().querySelector("code");
		expect(code?.textContent).toBe("let x = 1;\n");
		expect(code?.querySelector(".nbstream-tok-keyword")?.textContent).toBe("let");
	});

	it("puts the cursor in the last table cell", () => {
		mount();
		startStream(model, 1);
		delta("| a | b |\n|---|---|\n| 1 | 2");
		frames.flush();
		expect(cursor()?.parentElement?.localName).toBe("td");
		expect(cursor()?.parentElement?.textContent).toBe("2");
	});

	it("shows the error below the partial text, which stays", () => {
		mount();
		startStream(model, 1);
		delta("Partial answer");
		end("The server hung up.");
		frames.flush();
		const error = parent.querySelector(".nbstream-error") as HTMLElement;
		expect(error.getAttribute("role")).toBe("alert");
		expect(error.textContent).toBe("The server hung up.");
		expect(text()).toBe("Partial answer");
		// Below: the error follows the body in document order.
		expect(body().compareDocumentPosition(error) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();

		startStream(model, 2);
		frames.flush();
		expect(parent.querySelector(".nbstream-error")).toBeNull();
	});

	it("announces completion once per stream through a polite live region", () => {
		mount();
		const status = parent.querySelector(".nbstream-status") as HTMLElement;
		expect(status.getAttribute("aria-live")).toBe("polite");
		startStream(model, 1);
		frames.flush();
		const seen: string[] = [];
		for (const word of ["one ", "two ", "three"]) {
			delta(word);
			frames.flush();
			seen.push(status.textContent ?? "");
		}
		expect(seen).toEqual(["", "", ""]);
		end();
		frames.flush();
		expect(status.textContent).toBe("Answer complete.");
		// Later redraws (the user setting content) announce nothing new.
		model.kernelUpdate({ content: "edited" });
		frames.flush();
		expect(status.textContent).toBe("Answer complete.");

		startStream(model, 2);
		frames.flush();
		expect(status.textContent).toBe("");
		delta("x", 2);
		end("boom", 2);
		frames.flush();
		expect(status.textContent).toBe("Answer stopped with an error.");
	});

	it("does not announce a stream that ended before the view existed", () => {
		mount({ content: "done", _stream: 4 });
		expect((parent.querySelector(".nbstream-status") as HTMLElement).textContent).toBe("");
	});

	it("redraws at most once per frame", () => {
		mount();
		startStream(model, 1);
		for (const word of "many small deltas arrive between two frames".split(" ")) delta(`${word} `);
		expect(frames.pending).toBe(1);
		expect(text()).toBe("");
		frames.flush();
		expect(text()).toBe("many small deltas arrive between two frames");
		expect(frames.pending).toBe(0);
	});

	it("shows content set from Python while not streaming", () => {
		mount({ content: "first" });
		model.kernelUpdate({ content: "*second*" });
		frames.flush();
		expect(body().innerHTML).toBe("<p><em>second</em></p>\n");
	});
});

describe("anywidget entry", () => {
	it("shows the full text in a view created mid-stream", () => {
		model = new FakeModel();
		const dispose = widget.initialize({ model });
		startStream(model, 5);
		model.receive({ kind: "delta", stream: 5, offset: 0, text: "Already here. " });
		const cleanup = widget.render({ model, el: parent });
		expect(text()).toBe("Already here.");
		expect(cursor()).not.toBeNull();
		cleanup();
		dispose();
		expect(parent.querySelector(".nbstream-view")).toBeNull();
		expect(model.listenerCount).toBe(0);
	});

	it("redraws on animation frames", async () => {
		model = new FakeModel();
		widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		startStream(model, 1);
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "tick" });
		await new Promise((resolve) => requestAnimationFrame(resolve));
		await new Promise((resolve) => requestAnimationFrame(resolve));
		expect(text()).toBe("tick");
		cleanup();
	});
});

describe("the one entry point", () => {
	it("draws a StreamView for a StreamView model and a chat for a Chat model", async () => {
		const { default: widget, isChat } = await import("../src/index");
		const { FakeChatModel } = await import("./chat-helpers");
		const stream = new FakeModel({ content: "**hi**", is_streaming: false, error: null, _stream: 0 });
		const chat = new FakeChatModel();
		expect(isChat(stream)).toBe(false);
		expect(isChat(chat)).toBe(true);
		for (const [model, chatShown] of [
			[stream, false],
			[chat, true],
		] as const) {
			const el = document.createElement("div");
			const dispose = widget.initialize({ model });
			const cleanup = widget.render({ model, el });
			expect(el.querySelector(".nbstream-view")).not.toBeNull();
			expect(el.querySelector(".nbstream-chat") !== null).toBe(chatShown);
			cleanup();
			dispose();
		}
	});
});
