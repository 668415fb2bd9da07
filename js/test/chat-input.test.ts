import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import type { ChatTraits } from "../src/chat/types";
import { ChatView } from "../src/chat/view";
import { answer, FakeChatModel, KernelTurn, user } from "./chat-helpers";
import { ManualFrames } from "./fake-model";

let parent: HTMLElement;
let frames: ManualFrames;
let model: FakeChatModel;
let view: ChatView;
let disconnect: () => void;

function mount(state: Partial<ChatTraits> = {}): void {
	model = new FakeChatModel(state);
	disconnect = connectLanes(model);
	view = new ChatView(model, parent, frames);
}

const $ = <E extends Element = HTMLElement>(selector: string, root: ParentNode = parent): E =>
	root.querySelector<E>(selector) as E;
const input = (): HTMLTextAreaElement => $(".nbstream-chat-input");
const button = (label: string, root: ParentNode = parent): HTMLButtonElement =>
	$<HTMLButtonElement>(`button[aria-label="${label}"]`, root);
const msg = (id: number): HTMLElement => $(`.nbstream-msg[data-id="${id}"]`);

/** Press a key in `target` the way a browser dispatches it; returns the event. */
function press(target: Element, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
	const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
	target.dispatchEvent(event);
	return event;
}

function type(text: string): void {
	input().value = text;
	input().dispatchEvent(new Event("input", { bubbles: true }));
}

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
});

afterEach(() => {
	view.destroy();
	disconnect();
	parent.remove();
});

describe("input", () => {
	it("is a labelled textarea that says how to send", () => {
		mount();
		expect(input().localName).toBe("textarea");
		expect(input().getAttribute("aria-label")).toBe("Message");
		expect(input().placeholder).toBe("Message (Enter to send, Shift+Enter for a new line)");
		expect($(".nbstream-chat").getAttribute("data-lm-suppress-shortcuts")).toBe("true");
	});

	it("sends on Enter and clears the box", () => {
		mount();
		type("What is 2+2?");
		const event = press(input(), "Enter");
		expect(event.defaultPrevented).toBe(true);
		expect(model.sent).toEqual([{ kind: "send", text: "What is 2+2?" }]);
		expect(input().value).toBe("");
	});

	it("keeps Shift+Enter for a new line", () => {
		mount();
		type("line one");
		const event = press(input(), "Enter", { shiftKey: true });
		expect(event.defaultPrevented).toBe(false);
		expect(model.sent).toEqual([]);
		expect(input().value).toBe("line one");
	});

	it("ignores Enter while an IME composition is open", () => {
		mount();
		type("にほん");
		press(input(), "Enter", { isComposing: true });
		press(input(), "Enter", { keyCode: 229 } as KeyboardEventInit);
		expect(model.sent).toEqual([]);
		expect(input().value).toBe("にほん");
	});

	it("sends nothing empty or blank", () => {
		mount();
		press(input(), "Enter");
		type("  \n\t ");
		press(input(), "Enter");
		button("Send message").click();
		expect(model.sent).toEqual([]);
	});

	it("sends with the Send button too", () => {
		mount();
		type("by click");
		button("Send message").click();
		expect(model.sent).toEqual([{ kind: "send", text: "by click" }]);
	});
});

describe("while an answer streams", () => {
	it("keeps typing possible but Enter does not send; Stop replaces Send", () => {
		mount();
		const send = button("Send message");
		const stop = button("Stop answer");
		expect(send.hidden).toBe(false);
		expect(stop.hidden).toBe(true);
		new KernelTurn(model, "first");
		frames.flush();
		expect(send.hidden).toBe(true);
		expect(stop.hidden).toBe(false);
		expect(input().disabled).toBe(false);

		type("follow-up");
		press(input(), "Enter");
		send.click();
		expect(model.sent).toEqual([]);
		expect(input().value).toBe("follow-up");

		stop.click();
		expect(model.sent).toEqual([{ kind: "stop" }]);
	});

	it("stops on Escape in the input, and only while streaming", () => {
		mount();
		expect(press(input(), "Escape").defaultPrevented).toBe(false);
		expect(model.sent).toEqual([]);
		new KernelTurn(model, "q");
		frames.flush();
		const event = press(input(), "Escape");
		expect(event.defaultPrevented).toBe(true);
		expect(model.sent).toEqual([{ kind: "stop" }]);
	});

	it("moves keyboard focus from Send to Stop and back", () => {
		mount();
		const send = button("Send message");
		send.focus();
		const focus = vi.spyOn(HTMLElement.prototype, "focus");
		new KernelTurn(model, "q").finish();
		// Start and end in separate frames.
		model.kernelUpdate({
			is_streaming: true,
			_turns: [...model.get("_turns"), answer(9, "", { status: "streaming" })],
		});
		frames.flush();
		expect(document.activeElement).toBe(button("Stop answer"));
		model.kernelUpdate({ is_streaming: false });
		frames.flush();
		expect(document.activeElement).toBe(send);
		// Moving focus must never scroll the notebook.
		expect(focus.mock.calls).toEqual([[{ preventScroll: true }], [{ preventScroll: true }]]);
		focus.mockRestore();
	});
});

describe("keyboard isolation", () => {
	it("keeps key events from reaching the notebook", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a")] });
		const outside: string[] = [];
		const record = (event: Event): void => {
			outside.push(`${event.type}:${(event as KeyboardEvent).key}`);
		};
		for (const type of ["keydown", "keyup", "keypress"]) {
			parent.addEventListener(type, record);
			document.addEventListener(type, record);
		}
		try {
			press(input(), "Enter", { shiftKey: true });
			press(input(), "a");
			press(button("Copy message", msg(2)), "d");
			input().dispatchEvent(new KeyboardEvent("keyup", { key: "Enter", bubbles: true }));
			input().dispatchEvent(new KeyboardEvent("keypress", { key: "b", bubbles: true }));
			button("Edit message", msg(1)).click();
			press($(".nbstream-edit-input"), "Enter", { shiftKey: true });
			expect(outside).toEqual([]);
			// The same key outside the chat does reach the notebook: the check can fail.
			press(parent, "Enter", { shiftKey: true });
			expect(outside).toContain("keydown:Enter");
		} finally {
			for (const type of ["keydown", "keyup", "keypress"]) {
				parent.removeEventListener(type, record);
				document.removeEventListener(type, record);
			}
		}
	});
});

describe("editing a message", () => {
	it("edits inline and sends the edit on Enter", () => {
		mount({ _turns: [user(1, "old question"), answer(2, "old answer"), user(3, "later"), answer(4, "x")] });
		const edit = button("Edit message", msg(1));
		expect(edit.type).toBe("button");
		edit.click();
		const area = $<HTMLTextAreaElement>(".nbstream-edit-input", msg(1));
		expect(area.value).toBe("old question");
		expect(document.activeElement).toBe(area);
		expect($(":scope > .nbstream-body", msg(1)).hidden).toBe(true);
		expect(button("Send edit", msg(1))).not.toBeNull();
		expect(button("Cancel", msg(1))).not.toBeNull();

		area.value = "new question";
		press(area, "Enter", { shiftKey: true });
		expect(model.sent).toEqual([]);
		press(area, "Enter");
		expect(model.sent).toEqual([{ kind: "edit", id: 1, text: "new question" }]);
		expect($(".nbstream-edit-input")).toBeNull();
		expect($(":scope > .nbstream-body", msg(1)).hidden).toBe(false);
		expect(document.activeElement).toBe(input());
	});

	it("sends with the Send edit button and cancels with Escape or Cancel", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a")] });
		button("Edit message", msg(1)).click();
		press($(".nbstream-edit-input"), "Escape");
		expect($(".nbstream-edit-input")).toBeNull();
		expect(document.activeElement).toBe(button("Edit message", msg(1)));

		button("Edit message", msg(1)).click();
		button("Cancel", msg(1)).click();
		expect($(".nbstream-edit-input")).toBeNull();

		button("Edit message", msg(1)).click();
		$<HTMLTextAreaElement>(".nbstream-edit-input").value = "   ";
		button("Send edit", msg(1)).click();
		expect(model.sent).toEqual([]);
		$<HTMLTextAreaElement>(".nbstream-edit-input").value = "q, better";
		button("Send edit", msg(1)).click();
		expect(model.sent).toEqual([{ kind: "edit", id: 1, text: "q, better" }]);
	});

	it("cannot edit while an answer streams", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a")] });
		button("Edit message", msg(1)).click();
		new KernelTurn(model, null);
		frames.flush();
		expect(button("Edit message", msg(1)).disabled).toBe(true);
		expect(button("Send edit", msg(1)).disabled).toBe(true);
		press($(".nbstream-edit-input"), "Enter");
		expect(model.sent).toEqual([]);
	});

	it("is offered on user messages only", () => {
		mount({ _turns: [user(1, "q"), answer(2, "a"), { id: 3, role: "tool", content: "r" }] });
		expect(button("Edit message", msg(2))).toBeNull();
		expect(button("Edit message", msg(3))).toBeNull();
		expect(button("Copy message", msg(3))).toBeNull();
		expect(button("Copy message", msg(1))).not.toBeNull();
	});
});

describe("notices", () => {
	it("shows a kernel notice in a polite live region and clears it on the next action", () => {
		mount();
		const notice = $(".nbstream-notice");
		expect(notice.getAttribute("aria-live")).toBe("polite");
		model.receive({ kind: "notice", text: "An answer is already streaming: stop it first." });
		expect(notice.textContent).toBe("An answer is already streaming: stop it first.");
		// Typing alone is not an action.
		type("draft");
		expect(notice.textContent).toBe("An answer is already streaming: stop it first.");
		press(input(), "Enter");
		expect(notice.textContent).toBe("");

		model.receive({ kind: "notice", text: "Unknown message." });
		button("Clear conversation").click();
		expect(notice.textContent).toBe("");
	});

	it("ignores malformed notices", () => {
		mount();
		model.receive({ kind: "notice", text: 42 });
		model.receive({ kind: "other", text: "x" });
		expect($(".nbstream-notice").textContent).toBe("");
	});
});
