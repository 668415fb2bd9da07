/** The lane channel (initialize): each lane follows docs/protocol.md on its own text. */
import { beforeEach, describe, expect, it } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import { FakeChatModel, KernelTurn } from "./chat-helpers";

let model: FakeChatModel;
let turn: KernelTurn;

beforeEach(() => {
	model = new FakeChatModel();
	connectLanes(model);
	turn = new KernelTurn(model, "q", { stream: 3 });
});

describe("lanes", () => {
	it("mirrors lane text into _live_text and lane reasoning into _live_reasoning, locally", () => {
		turn.delta("Hel");
		turn.delta("think", "reasoning");
		turn.delta("lo");
		expect(model.get("_live_text")).toBe("Hello");
		expect(model.get("_live_reasoning")).toBe("think");
		expect(model.sets).toEqual([
			{ _live_text: "Hel" },
			{ _live_reasoning: "think" },
			{ _live_text: "Hello" },
		]);
		expect(model.sent).toEqual([]);
	});

	it("treats a message without a lane as lane text and ignores unknown lanes", () => {
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "plain" });
		model.receive({ kind: "delta", lane: "audio", stream: 3, offset: 0, text: "nope" });
		expect(model.get("_live_text")).toBe("plain");
		expect(model.get("_live_reasoning")).toBe("");
	});

	it("ignores messages of another stream", () => {
		model.receive({ kind: "delta", lane: "text", stream: 2, offset: 0, text: "old" });
		expect(model.get("_live_text")).toBe("");
	});

	it("asks for a resync of the lane with a gap, then takes the sync", () => {
		turn.delta("ab");
		turn.delta("first", "reasoning");
		model.receive({ kind: "delta", lane: "reasoning", stream: 3, offset: 9, text: "later" });
		expect(model.sent).toEqual([{ kind: "resync", lane: "reasoning", stream: 3 }]);
		// The other lane goes on; this one waits for its sync.
		turn.delta("cd");
		model.receive({ kind: "delta", lane: "reasoning", stream: 3, offset: 5, text: " more" });
		expect(model.get("_live_text")).toBe("abcd");
		expect(model.get("_live_reasoning")).toBe("first");
		model.receive({
			kind: "sync",
			lane: "reasoning",
			stream: 3,
			content: "first, then later",
			is_streaming: true,
			error: null,
		});
		expect(model.get("_live_reasoning")).toBe("first, then later");
		// The turn's state comes with `_turns`, not with a lane's sync.
		expect(model.sets.every((set) => !("is_streaming" in set))).toBe(true);
		model.receive({ kind: "delta", lane: "reasoning", stream: 3, offset: 17, text: "!" });
		expect(model.get("_live_reasoning")).toBe("first, then later!");
	});

	it("asks for a resync when a lane ends at another length", () => {
		turn.delta("abc");
		model.receive({ kind: "end", lane: "text", stream: 3, offset: 3, text: "", length: 5, error: null });
		expect(model.sent).toEqual([{ kind: "resync", lane: "text", stream: 3 }]);
	});

	it("starts over when a new answer starts or the kernel sets the text", () => {
		turn.delta("old text");
		const next = new KernelTurn(model, null, { stream: 4 });
		expect(model.get("_live_text")).toBe("");
		next.delta("new");
		expect(model.get("_live_text")).toBe("new");
		expect(model.sent).toEqual([]);
		// The kernel's closing update clears the lanes; later deltas of that stream are leftovers.
		model.kernelUpdate({ _live_text: "" });
		model.receive({ kind: "delta", lane: "text", stream: 4, offset: 3, text: "x" });
		expect(model.get("_live_text")).toBe("");
		expect(model.sent).toEqual([{ kind: "resync", lane: "text", stream: 4 }]);
	});

	it("joins a stream in the middle: deltas overlapping what the model holds", () => {
		const late = new FakeChatModel({ _stream: 5, is_streaming: true, _live_text: "Hello wo" });
		connectLanes(late);
		late.receive({ kind: "delta", lane: "text", stream: 5, offset: 6, text: "world" });
		expect(late.get("_live_text")).toBe("Hello world");
		expect(late.sent).toEqual([]);
	});
});
