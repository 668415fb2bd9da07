import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import type { ChatTraits } from "../src/chat/types";
import { ChatView } from "../src/chat/view";
import widget from "../src/index";
import { answer, FakeChatModel, KernelTurn, STATS, user } from "./chat-helpers";
import { ManualFrames } from "./fake-model";

let parent: HTMLElement;
let frames: ManualFrames;
let model: FakeChatModel;
let view: ChatView | undefined;
let disconnect: (() => void) | undefined;

function mount(state: Partial<ChatTraits> = {}): void {
	model = new FakeChatModel(state);
	disconnect = connectLanes(model);
	view = new ChatView(model, parent, frames);
}

const $ = <E extends Element = HTMLElement>(selector: string, root: ParentNode = parent): E | null =>
	root.querySelector<E>(selector);
const $$ = (selector: string, root: ParentNode = parent): HTMLElement[] =>
	Array.from(root.querySelectorAll<HTMLElement>(selector));
const msg = (id: number): HTMLElement => $(`.nbstream-msg[data-id="${id}"]`) as HTMLElement;
/** A message's visible answer text (the markdown body), trimmed. */
const body = (id: number): string => ($(":scope > .nbstream-body", msg(id))?.textContent ?? "").trim();
const button = (label: string, root: ParentNode = parent): HTMLButtonElement | null =>
	$<HTMLButtonElement>(`button[aria-label="${label}"]`, root);
const root = (): HTMLElement => $(".nbstream-chat") as HTMLElement;
const status = (): string => $(".nbstream-status")?.textContent ?? "";

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
});

afterEach(() => {
	view?.destroy();
	view = undefined;
	disconnect?.();
	parent.remove();
	vi.restoreAllMocks();
	vi.useRealTimers();
});

describe("conversation", () => {
	it("renders each turn by role", () => {
		mount({
			_turns: [
				user(1, "What is **2+2**?\nThanks"),
				answer(2, "It is **4**.", { tool_calls: [{ id: "c0", name: "add", arguments: '{"a":2,"b":2}' }] }),
				{ id: 3, role: "tool", content: '{"sum":4}' },
				answer(4, "Done."),
			],
		});
		expect($$(".nbstream-msg").map((m) => [m.dataset.role, m.dataset.id])).toEqual([
			["user", "1"],
			["assistant", "2"],
			["tool", "3"],
			["assistant", "4"],
		]);
		// The user's text is shown as typed, never as markdown.
		expect(body(1)).toBe("What is **2+2**?\nThanks");
		expect($("strong", msg(1))).toBeNull();
		expect($("strong", msg(2))?.textContent).toBe("4");
		expect(msg(2).dataset.status).toBe("done");
		expect(msg(1).hasAttribute("data-status")).toBe(false);
		// The tool turn is a compact card with the result pretty-printed.
		const result = $(".nbstream-tool-result", msg(3)) as HTMLElement;
		expect(result.querySelector(".nbstream-tool-output")?.textContent).toBe('{\n  "sum": 4\n}');
		// Screen readers hear who is speaking.
		expect($(".nbstream-sr-only", msg(1))?.textContent).toBe("You:");
		expect($(".nbstream-sr-only", msg(2))?.textContent).toBe("Assistant:");
	});

	it("shows the model, the backend and the system prompt in the header", () => {
		mount({ model_name: "gpt-4o-mini", backend: "api.openai.com", system: "Be brief." });
		const header = $(".nbstream-chat-header") as HTMLElement;
		expect($(".nbstream-chat-model", header)?.textContent).toBe("gpt-4o-mini");
		expect($(".nbstream-chat-backend", header)?.textContent).toBe("api.openai.com");
		expect(header.title).toContain("Be brief.");
		model.kernelUpdate({ system: null, model_name: "other" });
		frames.flush();
		expect(header.hasAttribute("title")).toBe(false);
		expect($(".nbstream-chat-model", header)?.textContent).toBe("other");
	});

	it("clears the conversation, but not while an answer streams", () => {
		mount({ _turns: [user(1, "hi"), answer(2, "hello")] });
		const clear = button("Clear conversation") as HTMLButtonElement;
		expect(clear.type).toBe("button");
		clear.click();
		expect(model.sent).toEqual([{ kind: "clear" }]);
		new KernelTurn(model, "again");
		frames.flush();
		expect(clear.disabled).toBe(true);
		clear.click();
		expect(model.sent).toHaveLength(1);
	});

	it("shows a hint while the conversation is empty", () => {
		mount();
		expect($(".nbstream-chat-log .nbstream-chat-empty")?.textContent).toBe("Ask anything…");
		model.kernelUpdate({ _turns: [user(1, "hi")] });
		frames.flush();
		expect($(".nbstream-chat-empty")).toBeNull();
		model.kernelUpdate({ _turns: [] });
		frames.flush();
		expect($$(".nbstream-msg")).toHaveLength(0);
		expect($(".nbstream-chat-empty")).not.toBeNull();
	});

	it("keeps the DOM of turns that did not change, and updates only those that did", () => {
		mount({ _turns: [user(1, "one"), answer(2, "**first** answer"), user(3, "two"), answer(4, "second")] });
		const before = [1, 2, 3, 4].map(msg);
		const strong = $("strong", msg(2));
		// The kernel sends a fresh array of fresh objects each time.
		model.kernelUpdate({
			_turns: [
				user(1, "one"),
				answer(2, "**first** answer"),
				user(3, "two (edited)"),
				answer(4, "second"),
				user(5, "three"),
			],
		});
		frames.flush();
		expect([1, 2, 3, 4].map(msg)).toEqual(before);
		expect($("strong", msg(2))).toBe(strong);
		expect(body(3)).toBe("two (edited)");
		expect($$(".nbstream-msg").map((m) => m.dataset.id)).toEqual(["1", "2", "3", "4", "5"]);

		// An edit drops what follows the edited turn.
		model.kernelUpdate({ _turns: [user(1, "one"), answer(2, "**first** answer"), user(3, "two, again")] });
		frames.flush();
		expect($$(".nbstream-msg").map((m) => m.dataset.id)).toEqual(["1", "2", "3"]);
		expect(msg(1)).toBe(before[0]);
		expect($("strong", msg(2))).toBe(strong);
	});

	it("ignores malformed turns", () => {
		mount({
			_turns: [
				null,
				{ id: "x", role: "user" },
				user(1, "ok"),
				user(1, "duplicate"),
				{ id: 2, role: "system" },
			] as never,
		});
		expect($$(".nbstream-msg").map((m) => m.dataset.id)).toEqual(["1"]);
		expect(body(1)).toBe("ok");
	});

	it("redraws at most once per frame", () => {
		mount();
		const turn = new KernelTurn(model, "count");
		for (const word of "many small deltas between two frames".split(" ")) turn.delta(`${word} `);
		expect(frames.pending).toBe(1);
		expect($(".nbstream-msg")).toBeNull();
		frames.flush();
		expect(body(turn.id)).toBe("many small deltas between two frames");
		expect(frames.pending).toBe(0);
	});
});

describe("a streaming answer", () => {
	it("grows from lane deltas with a cursor, busy, then settles in place", () => {
		mount();
		const turn = new KernelTurn(model, "Hi?");
		frames.flush();
		const answerEl = msg(turn.id);
		expect(root().dataset.streaming).toBe("true");
		expect(answerEl.dataset.status).toBe("streaming");
		expect(answerEl.getAttribute("aria-busy")).toBe("true");
		expect($(".nbstream-waiting", answerEl)?.textContent).toContain("Waiting for the model");
		expect(body(turn.id - 1)).toBe("Hi?");

		turn.delta("Hello **wor");
		frames.flush();
		expect($(".nbstream-waiting", answerEl)).toBeNull();
		// The open tail shows formatted (tail-repair.ts), never its raw markers.
		expect(body(turn.id)).toBe("Hello wor");
		expect($("strong", answerEl)?.textContent).toBe("wor");
		turn.delta("ld**!");
		frames.flush();
		expect($("strong", answerEl)?.textContent).toBe("world");
		const cursor = $(".nbstream-cursor", answerEl) as HTMLElement;
		expect(cursor.getAttribute("aria-hidden")).toBe("true");
		expect(cursor.previousSibling?.textContent).toBe("!");
		expect($$(".nbstream-cursor")).toHaveLength(1);
		expect($(".nbstream-msg-footer", answerEl)).toBeNull();

		turn.finish();
		frames.flush();
		expect(msg(turn.id)).toBe(answerEl);
		expect(answerEl.dataset.status).toBe("done");
		expect(answerEl.hasAttribute("aria-busy")).toBe(false);
		expect($(".nbstream-cursor")).toBeNull();
		expect(body(turn.id)).toBe("Hello world!");
		expect(root().dataset.streaming).toBe("false");
		expect($(".nbstream-msg-footer", answerEl)).not.toBeNull();
	});

	it("shows reasoning collapsed above the answer", () => {
		mount();
		const turn = new KernelTurn(model, "Think first");
		turn.delta("Let me *think*.", "reasoning");
		frames.flush();
		const details = $("details.nbstream-reasoning", msg(turn.id)) as HTMLDetailsElement;
		expect(details.open).toBe(false);
		expect(details.querySelector("summary")?.textContent).toBe("Reasoning…");
		expect(details.querySelector("em")?.textContent).toBe("think");
		// While only reasoning streams, the cursor is at its end.
		expect($(".nbstream-cursor", details)).not.toBeNull();

		turn.delta("The answer.");
		frames.flush();
		// `.nbstream-body` is the answer alone.
		expect($$(".nbstream-body", msg(turn.id))).toHaveLength(1);
		const answerBody = $(":scope > .nbstream-body", msg(turn.id)) as HTMLElement;
		expect(details.compareDocumentPosition(answerBody) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
		expect(answerBody.textContent).not.toContain("think");
		expect($(".nbstream-cursor", details)).toBeNull();
		expect($(".nbstream-cursor", answerBody)).not.toBeNull();

		turn.finish();
		frames.flush();
		expect($("details.nbstream-reasoning summary", msg(turn.id))?.textContent).toBe("Reasoning");
		expect(body(turn.id)).toBe("The answer.");
	});

	it("shows tool calls as cards, with arguments as text", () => {
		mount();
		const turn = new KernelTurn(model, "Weather?");
		turn.tools([{ id: "call_0", name: "get_weather", arguments: '{"city": "Oslo"}' }]);
		frames.flush();
		const card = $(".nbstream-tool-call", msg(turn.id)) as HTMLElement;
		expect($(".nbstream-tool-name", card)?.textContent).toBe("get_weather");
		expect($(".nbstream-tool-args", card)?.textContent).toBe('{\n  "city": "Oslo"\n}');
		turn.tools([
			{ id: "call_0", name: "get_weather", arguments: '{"city": "Oslo"}' },
			{ id: "call_1", name: "broken", arguments: '{"city": "Os' },
		]);
		frames.flush();
		expect($$(".nbstream-tool-call .nbstream-tool-args").map((a) => a.textContent)).toEqual([
			'{\n  "city": "Oslo"\n}',
			'{"city": "Os',
		]);
		turn.finish({ tool_calls: model.get("_live_tools"), stats: { ...STATS, finish_reason: "tool_calls" } });
		frames.flush();
		expect($$(".nbstream-tool-call .nbstream-tool-name", msg(turn.id)).map((a) => a.textContent)).toEqual([
			"get_weather",
			"broken",
		]);
	});
});

describe("footer", () => {
	it("shows time to first token, speed, usage and finish reason", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a")] });
		const stats = $$(".nbstream-msg-footer .nbstream-stat", msg(2));
		expect(Object.fromEntries(stats.map((s) => [s.dataset.stat, s.textContent]))).toEqual({
			ttft: "first token 0.31 s",
			speed: "58.2 tokens/s",
			usage: "12 prompt + 140 completion tokens",
			finish: "finish: stop",
		});
		expect($(".nbstream-flag")).toBeNull();
		// User messages have no footer.
		expect($(".nbstream-msg-footer", msg(1))).toBeNull();
	});

	it("marks estimated speed with ~ and leaves out missing usage", () => {
		const stats = {
			...STATS,
			tokens_estimated: true,
			prompt_tokens: null,
			completion_tokens: null,
			ttft: null,
		};
		mount({ _turns: [answer(1, "a", { stats })] });
		const footer = $(".nbstream-msg-footer") as HTMLElement;
		expect($('[data-stat="speed"]', footer)?.textContent).toBe("~58.2 tokens/s");
		expect($('[data-stat="usage"]', footer)).toBeNull();
		expect($('[data-stat="ttft"]', footer)).toBeNull();
	});

	it.each([
		["length", { stats: { ...STATS, finish_reason: "length" } }, "Cut off: max tokens reached"],
		[
			"content_filter",
			{ stats: { ...STATS, finish_reason: "content_filter" } },
			"Stopped by the content filter",
		],
		["stopped", { status: "stopped" as const, stats: { ...STATS, finish_reason: null } }, "Stopped"],
	])("flags %s", (flag, extra, text) => {
		mount({ _turns: [user(1, "q"), answer(2, "partial", extra)] });
		const flags = $$(".nbstream-flag", msg(2));
		expect(flags.map((f) => [f.dataset.flag, f.textContent])).toEqual([[flag, text]]);
		expect(body(2)).toBe("partial");
		expect($('[data-stat="finish"]')).toBeNull();
	});
});

describe("errors", () => {
	it("shows the error below the partial text, with a Retry that regenerates", () => {
		mount();
		const turn = new KernelTurn(model, "q");
		turn.delta("Partial answer");
		turn.finish({ status: "error", error: "APIConnectionError: the server hung up", stats: null });
		frames.flush();
		const error = $(".nbstream-error", msg(turn.id)) as HTMLElement;
		expect(error.getAttribute("role")).toBe("alert");
		expect($(".nbstream-error-text", error)?.textContent).toBe("APIConnectionError: the server hung up");
		expect(body(turn.id)).toBe("Partial answer");
		const answerBody = $(":scope > .nbstream-body", msg(turn.id)) as HTMLElement;
		expect(answerBody.compareDocumentPosition(error) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
		const retry = button("Retry", error) as HTMLButtonElement;
		expect(retry.type).toBe("button");
		retry.click();
		expect(model.sent).toEqual([{ kind: "regenerate" }]);
	});

	it("keeps Retry when the kernel replaces one error with another", () => {
		mount({ _turns: [user(1, "q"), answer(2, "", { status: "error", error: "first" })] });
		model.kernelUpdate({ _turns: [user(1, "q"), answer(2, "", { status: "error", error: "second" })] });
		frames.flush();
		expect($(".nbstream-error-text", msg(2))?.textContent).toBe("second");
		expect(button("Retry", msg(2))).not.toBeNull();
	});

	it("offers Retry only on the last answer and not while one streams", () => {
		mount({ _turns: [user(1, "q"), answer(2, "", { status: "error", error: "boom" })] });
		expect(button("Retry", msg(2))).not.toBeNull();
		new KernelTurn(model, "next");
		frames.flush();
		expect($(".nbstream-error", msg(2))?.textContent).toContain("boom");
		expect(button("Retry")).toBeNull();
	});
});

describe("message actions", () => {
	let writes: string[];

	beforeEach(() => {
		writes = [];
		vi.spyOn(navigator.clipboard, "writeText").mockImplementation(async (text: string) => {
			writes.push(text);
		});
	});

	it("offers Regenerate on the last answer only, and not while streaming", () => {
		mount({ _turns: [user(1, "a"), answer(2, "A"), user(3, "b"), answer(4, "B")] });
		expect($$('button[aria-label="Regenerate answer"]')).toHaveLength(1);
		const regenerate = button("Regenerate answer", msg(4)) as HTMLButtonElement;
		regenerate.click();
		expect(model.sent).toEqual([{ kind: "regenerate" }]);

		new KernelTurn(model, "c");
		frames.flush();
		expect(button("Regenerate answer")).toBeNull();
	});

	it("copies the message's markdown source, never its reasoning, and says so", async () => {
		vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
		mount({
			_turns: [user(1, "Why?"), answer(2, "Because **reasons**.", { reasoning: "secret thoughts" })],
		});
		const copy = button("Copy message", msg(2)) as HTMLButtonElement;
		expect(copy.type).toBe("button");
		copy.click();
		await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
		expect(writes).toEqual(["Because **reasons**."]);
		vi.advanceTimersByTime(2000);
		expect(copy.textContent).toBe("Copy");
		expect(copy.getAttribute("aria-label")).toBe("Copy message");

		(button("Copy message", msg(1)) as HTMLButtonElement).click();
		await vi.waitFor(() => expect(writes).toEqual(["Because **reasons**.", "Why?"]));
	});

	it("copies an answer as text: rendered and plain, without reasoning or controls", async () => {
		const items: ClipboardItem[] = [];
		vi.spyOn(navigator.clipboard, "write").mockImplementation(async (data: ClipboardItems) => {
			items.push(...data);
		});
		const markdown = [
			"# Plan",
			"",
			"Because **reasons**, see [the docs](https://example.com).",
			"",
			"- one",
			"- two",
			"",
			"3. three",
			"4. four",
			"",
			"| x | y |",
			"| --- | --- |",
			"| 1 | 2 |",
			"",
			"```py",
			"print('hi')",
			"```",
		].join("\n");
		mount({ _turns: [user(1, "Why?"), answer(2, markdown, { reasoning: "secret thoughts" })] });
		expect(button("Copy as text", msg(1))).toBeNull(); // the user's own words: Copy is enough
		const copy = button("Copy as text", msg(2)) as HTMLButtonElement;
		copy.click();
		await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
		expect(writes).toEqual([]);
		const item = items[0] as ClipboardItem;
		expect(item.types).toEqual(expect.arrayContaining(["text/html", "text/plain"]));
		const plain = await (await item.getType("text/plain")).text();
		expect(plain).toBe(
			"Plan\n\nBecause reasons, see the docs.\n\n- one\n- two\n\n3. three\n4. four\n\nx\ty\n1\t2\n\nprint('hi')",
		);
		const html = await (await item.getType("text/html")).text();
		expect(html).toContain("<strong>reasons</strong>");
		expect(html).toContain('<a href="https://example.com"');
		expect(html).toContain("<table>");
		expect(html).not.toContain("secret");
		expect(html).not.toContain("<button");
		expect(plain).not.toContain("Copy");
	});

	it("copies as text with both flavours when only execCommand works", async () => {
		vi.spyOn(navigator.clipboard, "write").mockRejectedValue(new Error("denied"));
		const data = new Map<string, string>();
		const execCommand = vi.fn(() => {
			const event = new Event("copy", { bubbles: true, cancelable: true }) as ClipboardEvent;
			Object.defineProperty(event, "clipboardData", {
				value: { setData: (type: string, value: string) => data.set(type, value) },
			});
			document.activeElement?.dispatchEvent(event);
			return true;
		});
		Object.defineProperty(document, "execCommand", { value: execCommand, configurable: true });
		try {
			mount({ _turns: [answer(1, "Some *formatted* text")] });
			const copy = button("Copy as text") as HTMLButtonElement;
			copy.click();
			await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
			expect(data.get("text/plain")).toBe("Some formatted text");
			expect(data.get("text/html")).toBe("<p>Some <em>formatted</em> text</p>");
			await vi.waitFor(() => expect(copy.textContent).toBe("Copy text"), { timeout: 3000 });
		} finally {
			Reflect.deleteProperty(document, "execCommand");
		}
	});

	it("copies code blocks of answers", async () => {
		mount({
			_turns: [user(1, "```py\nnot code\n```"), answer(2, "Try:\n\n```python\nprint('hi')\n```\n\nand `x`.")],
		});
		expect($(".nbstream-copy-code", msg(1))).toBeNull();
		const buttons = $$('.nbstream-code > button[aria-label="Copy code"]', msg(2));
		expect(buttons).toHaveLength(1);
		(buttons[0] as HTMLButtonElement).click();
		await vi.waitFor(() => expect(writes).toEqual(["print('hi')\n"]));
		await vi.waitFor(() => expect(buttons[0]?.textContent).toBe("Copied"));
	});

	it("keeps the cursor in a streaming code block that has a copy button", () => {
		mount();
		const turn = new KernelTurn(model, "code");
		turn.delta("```js\nlet x = 1;\n");
		frames.flush();
		const code = $(".nbstream-code pre > code", msg(turn.id)) as HTMLElement;
		const cursor = $(".nbstream-cursor", code);
		expect(cursor?.parentElement).toBe(code);
		expect(code.textContent).toBe("let x = 1;\n");
		expect(cursor?.nextSibling?.textContent).toBe("\n");
		expect(button("Copy code", msg(turn.id))).not.toBeNull();
	});

	it("falls back to execCommand when the Clipboard API is refused", async () => {
		vi.mocked(navigator.clipboard.writeText).mockRejectedValue(new Error("denied"));
		const copied: string[] = [];
		const execCommand = vi.fn((command: string) => {
			const area = document.activeElement as HTMLTextAreaElement;
			copied.push(`${command}:${area.value.slice(area.selectionStart, area.selectionEnd)}`);
			return true;
		});
		Object.defineProperty(document, "execCommand", { value: execCommand, configurable: true });
		try {
			mount({ _turns: [answer(1, "plain *text*")] });
			const copy = button("Copy message") as HTMLButtonElement;
			copy.focus();
			copy.click();
			await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
			expect(copied).toEqual(["copy:plain *text*"]);
			expect(parent.querySelectorAll("textarea")).toHaveLength(1); // only the chat's own input
			expect(document.activeElement).toBe(copy);
		} finally {
			Reflect.deleteProperty(document, "execCommand");
		}
	});
});

describe("scrolling", () => {
	const metrics = { scrollHeight: 1000, clientHeight: 300 };
	let top = 0;

	function stub(log: HTMLElement): void {
		Object.defineProperty(log, "scrollHeight", { get: () => metrics.scrollHeight, configurable: true });
		Object.defineProperty(log, "clientHeight", { get: () => metrics.clientHeight, configurable: true });
		Object.defineProperty(log, "scrollTop", {
			get: () => top,
			// As browsers do: never beyond the end.
			set: (value: number) => {
				top = Math.max(0, Math.min(value, metrics.scrollHeight - metrics.clientHeight));
			},
			configurable: true,
		});
	}

	function userScrolls(log: HTMLElement, to: number): void {
		log.scrollTop = to;
		log.dispatchEvent(new Event("scroll"));
	}

	beforeEach(() => {
		metrics.scrollHeight = 1000;
		top = 0;
	});

	it("follows new text at the bottom, stops when the user scrolls up, and jumps back", () => {
		const pageScrolls = [
			vi.spyOn(Element.prototype, "scrollIntoView"),
			vi.spyOn(window, "scrollTo"),
			vi.spyOn(window, "scrollBy"),
		];
		const focus = vi.spyOn(HTMLElement.prototype, "focus");
		mount();
		const log = $(".nbstream-chat-log") as HTMLElement;
		expect(log.getAttribute("role")).toBe("log");
		expect(log.getAttribute("aria-label")).toBe("Conversation");
		stub(log);
		const jump = button("Jump to latest") as HTMLButtonElement;
		expect(jump.className).toBe("nbstream-jump");

		const turn = new KernelTurn(model, "long");
		turn.delta("line\n\n");
		frames.flush();
		expect(log.scrollTop).toBe(700);
		expect(jump.hidden).toBe(true);

		// A few pixels off the bottom still counts as the bottom.
		userScrolls(log, 695);
		metrics.scrollHeight = 1200;
		turn.delta("more\n\n");
		frames.flush();
		expect(log.scrollTop).toBe(900);
		expect(jump.hidden).toBe(true);

		userScrolls(log, 400);
		expect(jump.hidden).toBe(false);
		metrics.scrollHeight = 1500;
		turn.delta("even more\n\n");
		frames.flush();
		expect(log.scrollTop).toBe(400);
		expect(jump.hidden).toBe(false);

		jump.click();
		expect(log.scrollTop).toBe(1200);
		expect(jump.hidden).toBe(true);
		metrics.scrollHeight = 1600;
		turn.delta("and more");
		frames.flush();
		expect(log.scrollTop).toBe(1300);

		// Sending a question follows again, wherever the user was.
		turn.finish();
		frames.flush();
		userScrolls(log, 100);
		const input = $(".nbstream-chat-input") as HTMLTextAreaElement;
		input.value = "next";
		input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
		expect(log.scrollTop).toBe(1300);
		expect(jump.hidden).toBe(true);

		// So does asking again (Regenerate, Retry, an edit) from a message further up.
		userScrolls(log, 100);
		expect(jump.hidden).toBe(false);
		(button("Regenerate answer") as HTMLButtonElement).click();
		expect(model.sent.at(-1)).toEqual({ kind: "regenerate" });
		expect(log.scrollTop).toBe(1300);
		expect(jump.hidden).toBe(true);

		for (const spy of pageScrolls) expect(spy).not.toHaveBeenCalled();
		for (const call of focus.mock.calls) expect(call[0]).toEqual({ preventScroll: true });
	});
});

describe("announcements", () => {
	it("announces the end of an answer once, in a polite status region", () => {
		mount();
		const region = $(".nbstream-status") as HTMLElement;
		expect(region.getAttribute("aria-live")).toBe("polite");
		expect(region.getAttribute("role")).toBe("status");
		const turn = new KernelTurn(model, "q");
		const seen: string[] = [];
		for (const word of ["one ", "two ", "three"]) {
			turn.delta(word);
			frames.flush();
			seen.push(status());
		}
		expect(seen).toEqual(["", "", ""]);
		turn.finish();
		frames.flush();
		expect(status()).toBe("Answer complete.");
		region.textContent = "(read)";
		model.kernelUpdate({ model_name: "other", _turns: [...model.get("_turns")] });
		frames.flush();
		expect(status()).toBe("(read)");

		const stopped = new KernelTurn(model, "q2");
		frames.flush();
		expect(status()).toBe("");
		stopped.delta("part");
		stopped.finish({ status: "stopped" });
		frames.flush();
		expect(status()).toBe("Answer stopped.");

		const failed = new KernelTurn(model, null);
		frames.flush();
		failed.finish({ status: "error", error: "RateLimitError: slow down" });
		frames.flush();
		expect(status()).toBe("Answer failed: RateLimitError: slow down");
	});

	it("announces nothing for a conversation that was finished before the view existed", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a")], _stream: 3 });
		expect(status()).toBe("");
	});
});

describe("anywidget entry", () => {
	it("shows the whole live answer in a view created mid-stream, and cleans up", () => {
		model = new FakeChatModel();
		const dispose = widget.initialize({ model });
		const first = widget.render({ model, el: parent });
		const turn = new KernelTurn(model, "q");
		turn.delta("Already ", "text");
		turn.delta("thinking", "reasoning");
		turn.delta("here.");
		const second = document.createElement("div");
		parent.append(second);
		const cleanup = widget.render({ model, el: second });
		const live = $(`.nbstream-msg[data-id="${turn.id}"]`, second) as HTMLElement;
		expect(($(":scope > .nbstream-body", live)?.textContent ?? "").trim()).toBe("Already here.");
		expect($(".nbstream-reasoning-body", live)?.textContent?.trim()).toBe("thinking");
		expect($(".nbstream-cursor", live)).not.toBeNull();
		expect(live.getAttribute("aria-busy")).toBe("true");
		cleanup();
		first();
		dispose();
		expect(parent.querySelector(".nbstream-chat")).toBeNull();
		expect(model.listenerCount).toBe(0);
	});

	it("redraws on animation frames", async () => {
		model = new FakeChatModel();
		const dispose = widget.initialize({ model });
		const cleanup = widget.render({ model, el: parent });
		const turn = new KernelTurn(model, "q");
		turn.delta("tick");
		await new Promise((resolve) => requestAnimationFrame(resolve));
		await new Promise((resolve) => requestAnimationFrame(resolve));
		expect(body(turn.id)).toBe("tick");
		cleanup();
		dispose();
	});
});
