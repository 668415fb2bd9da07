/**
 * Tool calls as cards inside the assistant turn (docs/chat-protocol.md, "Tools: rounds,
 * tool turns and cards"): order, status, approval, untrusted results, announcements.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import type { ChatTraits, ToolCall, ToolStatus, Turn } from "../src/chat/types";
import { ChatView } from "../src/chat/view";
import { answer, FakeChatModel, KernelTurn, STATS, user } from "./chat-helpers";
import { ManualFrames } from "./fake-model";

let parent: HTMLElement;
let frames: ManualFrames;
let model: FakeChatModel;
let view: ChatView | undefined;
let disconnect: (() => void) | undefined;

const WEATHER: ToolCall = { id: "call_0", name: "get_weather", arguments: '{"city": "Oslo"}' };
const TIME: ToolCall = { id: "call_1", name: "get_time", arguments: "{}" };

function mount(state: Partial<ChatTraits> = {}): void {
	model = new FakeChatModel(state);
	disconnect = connectLanes(model);
	view = new ChatView(model, parent, frames);
}

function tool(id: number, call: ToolCall, status: ToolStatus, extra: Partial<Turn> = {}): Turn {
	return {
		id,
		role: "tool",
		tool_call_id: call.id,
		name: call.name,
		content: "",
		status,
		duration: null,
		note: null,
		...extra,
	};
}

/** A question, an answer that calls both tools, and their tool turns in the given states. */
function exchange(
	weather: Partial<Turn> & { status: ToolStatus },
	time?: Partial<Turn> & { status: ToolStatus },
) {
	const turns = [
		user(1, "Weather and time?"),
		answer(2, "Let me **check**.", {
			tool_calls: [WEATHER, TIME],
			stats: { ...STATS, finish_reason: "tool_calls" },
		}),
		tool(3, WEATHER, weather.status, weather),
	];
	if (time) turns.push(tool(4, TIME, time.status, time));
	return turns;
}

function update(turns: Turn[]): void {
	model.kernelUpdate({ _turns: turns });
	frames.flush();
}

const $ = <E extends Element = HTMLElement>(selector: string, root: ParentNode = parent): E | null =>
	root.querySelector<E>(selector);
const $$ = (selector: string, root: ParentNode = parent): HTMLElement[] =>
	Array.from(root.querySelectorAll<HTMLElement>(selector));
const card = (id: string): HTMLElement => $(`.nbstream-tool-card[data-call-id="${id}"]`) as HTMLElement;
const statusText = (id: string): string => $(".nbstream-tool-status", card(id))?.textContent ?? "";
const announced = (): string => $(".nbstream-status")?.textContent ?? "";

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
	vi.useRealTimers();
});

describe("tool cards", () => {
	it("shows one card per call inside the assistant turn, below its text, in call order", () => {
		mount({
			_turns: [
				...exchange({ status: "done", content: '{"sky":"clear"}', duration: 0.42 }, { status: "running" }),
				answer(5, "Clear skies."),
			],
		});
		// The tool turns are the cards' state, not messages of their own.
		expect($$(".nbstream-msg").map((m) => m.dataset.id)).toEqual(["1", "2", "5"]);
		const msg = $('.nbstream-msg[data-id="2"]') as HTMLElement;
		const cards = $$(".nbstream-tool-card", msg);
		expect(cards.map((c) => [c.dataset.callId, c.dataset.status])).toEqual([
			["call_0", "done"],
			["call_1", "running"],
		]);
		// Text first, then the cards.
		const body = $(":scope > .nbstream-body", msg) as HTMLElement;
		expect(body.compareDocumentPosition(cards[0] as Node) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
		expect($(".nbstream-tool-name", card("call_0"))?.textContent).toBe("get_weather");
		expect($("details .nbstream-tool-args", card("call_0"))?.textContent).toBe('{\n  "city": "Oslo"\n}');
		expect($("details .nbstream-tool-output", card("call_0"))?.textContent).toBe('{\n  "sky": "clear"\n}');
		expect(statusText("call_0")).toBe("done in 0.42 s");
		// No result yet: no result fold.
		expect(($("details:has(.nbstream-tool-output)", card("call_1")) as HTMLElement).hidden).toBe(true);
	});

	it("shows the calls of a streaming answer as pending cards", () => {
		mount();
		const turn = new KernelTurn(model, "Weather?");
		turn.tools([WEATHER]);
		frames.flush();
		expect(card("call_0").dataset.status).toBe("pending");
		expect(statusText("call_0")).toBe("pending");
		const before = card("call_0");
		turn.finish({ tool_calls: [WEATHER], is_streaming: true } as Partial<Turn>);
		frames.flush();
		// The same card, now read from the final turn.
		expect(card("call_0")).toBe(before);
	});

	it("renders a tool turn that answers no call on its own, as a result card", () => {
		mount({
			_turns: [
				user(1, "q"),
				answer(2, "a"),
				{ ...tool(3, { id: "call_9", name: "lost", arguments: "" }, "done"), content: "orphan" },
				// Its call comes later: a tool turn only belongs to an earlier call.
				tool(4, WEATHER, "done", { content: "early" }),
				answer(5, "b", { tool_calls: [WEATHER] }),
			],
		});
		expect($$(".nbstream-msg").map((m) => m.dataset.id)).toEqual(["1", "2", "3", "4", "5"]);
		expect($('.nbstream-msg[data-id="3"] .nbstream-tool-result .nbstream-tool-output')?.textContent).toBe(
			"orphan",
		);
		expect(card("call_0").dataset.status).toBe("pending");
	});

	it("updates a card in place as its status changes, and counts running seconds", () => {
		vi.useFakeTimers();
		mount({ _turns: exchange({ status: "pending" }, { status: "pending" }) });
		const weather = card("call_0");
		const other = card("call_1");
		const body = $('.nbstream-msg[data-id="2"] .nbstream-body') as HTMLElement;
		const args = $("details", weather) as HTMLDetailsElement;
		expect(args.open).toBe(true);
		args.open = false;
		update(exchange({ status: "running" }, { status: "pending" }));
		expect(card("call_0")).toBe(weather);
		expect(card("call_1")).toBe(other);
		expect($('.nbstream-msg[data-id="2"] .nbstream-body')).toBe(body);
		expect(args.open).toBe(false);
		expect(weather.dataset.status).toBe("running");
		expect(statusText("call_0")).toBe("running 0 s");
		vi.advanceTimersByTime(1000);
		expect(statusText("call_0")).toBe("running 1 s");
		vi.advanceTimersByTime(2000);
		expect(statusText("call_0")).toBe("running 3 s");
		update(exchange({ status: "done", content: "ok", duration: 3.2 }, { status: "error", content: "boom" }));
		expect(card("call_0")).toBe(weather);
		expect(statusText("call_0")).toBe("done in 3.20 s");
		expect(statusText("call_1")).toBe("failed");
		expect(other.dataset.status).toBe("error");
		// Nothing runs: the tick already due is the last.
		vi.advanceTimersByTime(1000);
		expect(vi.getTimerCount()).toBe(0);
	});

	it.each([
		["waiting", "waiting for approval"],
		["denied", "denied"],
		["cancelled", "cancelled"],
	] as const)("says %s", (status, text) => {
		mount({ _turns: exchange({ status, note: status === "cancelled" ? "Stopped by the user" : null }) });
		expect(card("call_0").dataset.status).toBe(status);
		expect(statusText("call_0")).toBe(text);
		const note = $(".nbstream-tool-note", card("call_0")) as HTMLElement;
		expect(note.hidden).toBe(status !== "cancelled");
		if (status === "cancelled") expect(note.textContent).toBe("Stopped by the user");
	});
});

describe("approval", () => {
	it("offers Allow and Deny on a waiting card and sends the answer", () => {
		mount({ _turns: exchange({ status: "waiting" }, { status: "waiting" }) });
		const allow = $<HTMLButtonElement>('[data-action="allow"]', card("call_0")) as HTMLButtonElement;
		const deny = $<HTMLButtonElement>('[data-action="deny"]', card("call_0")) as HTMLButtonElement;
		expect([allow.textContent, allow.getAttribute("aria-label"), allow.type]).toEqual([
			"Allow",
			"Allow get_weather",
			"button",
		]);
		expect([deny.textContent, deny.getAttribute("aria-label")]).toEqual(["Deny", "Deny get_weather"]);
		allow.click();
		expect(model.sent).toEqual([{ kind: "approve", call_id: "call_0", allow: true }]);
		expect([allow.disabled, deny.disabled]).toEqual([true, true]);
		($('[data-action="deny"]', card("call_1")) as HTMLButtonElement).click();
		expect(model.sent.at(-1)).toEqual({ kind: "approve", call_id: "call_1", allow: false });
		// The next update enables them again (the same buttons, so focus stays).
		update(exchange({ status: "waiting" }, { status: "waiting" }));
		expect($('[data-action="allow"]', card("call_0"))).toBe(allow);
		expect(allow.disabled).toBe(false);
		// Once the call runs, the buttons go.
		update(exchange({ status: "running" }, { status: "denied" }));
		expect($$("[data-action]")).toHaveLength(0);
	});

	it("shows no buttons on cards that are not waiting", () => {
		mount({ _turns: exchange({ status: "pending" }, { status: "done" }) });
		expect($$("[data-action]")).toHaveLength(0);
	});
});

describe("results are untrusted", () => {
	it("shows markup in a result, a name and arguments as text", () => {
		const payload = "<img src=x onerror=alert(1)>";
		const call = { id: "c", name: payload, arguments: payload };
		mount({
			_turns: [
				user(1, "q"),
				answer(2, "a", { tool_calls: [call] }),
				tool(3, call, "done", { content: payload, note: payload }),
			],
		});
		expect($$("img")).toHaveLength(0);
		const el = card("c");
		expect($(".nbstream-tool-output", el)?.textContent).toBe(payload);
		expect($(".nbstream-tool-name", el)?.textContent).toBe(payload);
		expect($(".nbstream-tool-args", el)?.textContent).toBe(payload);
		expect($(".nbstream-tool-note", el)?.textContent).toBe(payload);
	});

	it("cuts a long result in the preview and says how much is left", () => {
		mount({ _turns: exchange({ status: "done", content: "x".repeat(2500) }) });
		const text = $(".nbstream-tool-output", card("call_0"))?.textContent ?? "";
		expect(text).toBe(`${"x".repeat(2000)}\n… 500 more characters`);
	});
});

describe("announcements", () => {
	it("announces a call's final status once", () => {
		mount({ _turns: exchange({ status: "running" }, { status: "running" }) });
		expect(announced()).toBe("");
		update(exchange({ status: "done", content: "ok", duration: 0.4 }, { status: "running" }));
		expect(announced()).toBe("get_weather done in 0.40 s");
		update(exchange({ status: "done", content: "ok", duration: 0.4 }, { status: "error" }));
		expect(announced()).toBe("get_time failed");
		// Later updates redraw the cards but say nothing again.
		($(".nbstream-status") as HTMLElement).textContent = "";
		update(exchange({ status: "done", content: "ok", duration: 0.4 }, { status: "error" }));
		update([
			...exchange({ status: "done", content: "ok", duration: 0.4 }, { status: "error" }),
			user(5, "next"),
		]);
		expect(announced()).toBe("");
	});

	it("says nothing about calls that had ended before the view saw them", () => {
		mount({ _turns: exchange({ status: "done", duration: 1 }, { status: "denied" }) });
		expect(announced()).toBe("");
	});
});

describe("assistant turn", () => {
	it("counts rounds and tool calls in the footer", () => {
		mount({
			_turns: [
				user(1, "q"),
				answer(2, "a", { stats: { ...STATS, rounds: 2, tool_calls: 3 } }),
				answer(3, "b", { stats: { ...STATS, rounds: 1, tool_calls: 1 } }),
				answer(4, "c", { stats: { ...STATS, rounds: 1, tool_calls: 0 } }),
			],
		});
		const stat = (id: number) => $(`.nbstream-msg[data-id="${id}"] [data-stat="tools"]`)?.textContent;
		expect(stat(2)).toBe("2 rounds · 3 tool calls");
		expect(stat(3)).toBe("1 round · 1 tool call");
		expect(stat(4)).toBeUndefined();
	});

	it("shows its note under its text", () => {
		const note = "Stopped after 8 rounds of tool calls (max_tool_rounds).";
		mount({ _turns: [user(1, "q"), answer(2, "So far.", { note })] });
		const msg = $('.nbstream-msg[data-id="2"]') as HTMLElement;
		const el = $(".nbstream-msg-note", msg) as HTMLElement;
		expect(el.textContent).toBe(note);
		const body = $(":scope > .nbstream-body", msg) as HTMLElement;
		expect(body.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
		update([user(1, "q"), answer(2, "So far.")]);
		expect($(".nbstream-msg-note")).toBeNull();
	});
});
