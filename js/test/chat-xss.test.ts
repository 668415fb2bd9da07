/**
 * Everything the kernel sends is untrusted: model output (answer, reasoning, tool
 * calls), and also errors, notices, names and stats, which quote upstream text.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import { ChatView } from "../src/chat/view";
import { answer, FakeChatModel, KernelTurn, STATS, user } from "./chat-helpers";
import { ManualFrames } from "./fake-model";
import { expectSafe, PAYLOADS } from "./safety";

/** Payloads that would set a global if any handler or script ever ran. */
const TRIPWIRES = [
	"<img src=x onerror=\"window.__pwned='img'\">",
	"<script>window.__pwned='script'</script>",
	"<svg><script>window.__pwned='svg'</script></svg>",
	"<details open ontoggle=\"window.__pwned='toggle'\">",
	"[click](javascript:window.__pwned='link')",
];
const ALL = [...PAYLOADS, ...TRIPWIRES];

let parent: HTMLElement;
let frames: ManualFrames;
let view: ChatView | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
	Reflect.deleteProperty(window, "__pwned");
});

afterEach(() => {
	view?.destroy();
	parent.remove();
	expect(Reflect.get(window, "__pwned")).toBeUndefined();
});

function mount(model: FakeChatModel): HTMLElement {
	connectLanes(model);
	view = new ChatView(model, parent, frames);
	return view.root;
}

/** The elements the chat itself creates; markdown bodies are checked by expectSafe. */
const OURS = new Set(["div", "span", "button", "textarea", "details", "summary", "pre", "code"]);
const MARKDOWN = ".nbstream-msg[data-role=assistant] > .nbstream-body, .nbstream-reasoning-body";

/** No handler anywhere, and no element made from the payload outside the markdown renderer. */
function expectInert(root: HTMLElement, payload: string): void {
	const picker = root.querySelector(".nbstream-chat-compose > input[type=file]");
	expect(picker).not.toBeNull();
	expectSafe(root, payload);
	for (const el of Array.from(root.querySelectorAll("*"))) {
		if (el.parentElement?.closest(MARKDOWN) || el === picker) continue;
		if (el.localName === "ul" && el.classList.contains("nbstream-pending")) continue;
		expect(OURS.has(el.localName), `${payload}: <${el.localName}> outside markdown`).toBe(true);
	}
}

describe("untrusted kernel data", () => {
	it.each(ALL)("streams %j safely as answer and reasoning, a delta at a time", (payload) => {
		const model = new FakeChatModel();
		const root = mount(model);
		const turn = new KernelTurn(model, payload);
		for (const char of Array.from(payload)) {
			turn.delta(char);
			turn.delta(char, "reasoning");
			frames.flush();
			expectInert(root, payload);
		}
		turn.tools([{ id: payload, name: payload, arguments: payload }]);
		frames.flush();
		expectInert(root, payload);
		turn.finish({ tool_calls: [{ id: payload, name: payload, arguments: payload }] });
		frames.flush();
		expectInert(root, payload);
		(root.querySelector("details") as HTMLDetailsElement).open = true;
		// Markup in user text, tool names and arguments is shown as the text it is.
		expect(root.querySelector(".nbstream-msg[data-role=user] .nbstream-body")?.textContent).toBe(payload);
		expect(root.querySelector(".nbstream-tool-name")?.textContent).toBe(payload);
	});

	it.each(ALL)("shows %j as text in errors, notices, the header, the footer and tool results", (payload) => {
		const model = new FakeChatModel({
			model_name: payload,
			backend: payload,
			system: payload,
			_turns: [
				user(1, payload),
				answer(2, payload, { stats: { ...STATS, finish_reason: payload } }),
				{ id: 3, role: "tool", content: payload, name: payload },
				answer(4, payload, { status: "error", error: payload, reasoning: payload }),
			],
		});
		const root = mount(model);
		model.receive({ kind: "notice", text: payload });
		expectInert(root, payload);
		expect(root.querySelector(".nbstream-chat-model")?.textContent).toBe(payload);
		expect(root.querySelector(".nbstream-chat-backend")?.textContent).toBe(payload);
		expect(root.querySelector(".nbstream-error-text")?.textContent).toBe(payload);
		expect(root.querySelector(".nbstream-notice")?.textContent).toBe(payload);
		expect(root.querySelector(".nbstream-tool-output")?.textContent).toBe(payload);
		expect(root.querySelector('[data-stat="finish"]')?.textContent).toBe(`finish: ${payload}`);
	});
});
