import { describe, expect, it } from "vitest";
import { connect } from "../src/channel";
import { LiveText } from "../src/live-text";
import { FakeModel, startStream } from "./fake-model";

/** A model with `initialize` run and a stream `stream` started. */
function streaming(stream = 3): FakeModel {
	const model = new FakeModel();
	connect(model);
	startStream(model, stream);
	return model;
}

describe("LiveText (pure)", () => {
	it("appends in-order deltas", () => {
		const live = new LiveText();
		expect(live.receive({ kind: "delta", stream: 1, offset: 0, text: "Hel" }, 1)).toEqual({ kind: "text" });
		expect(live.receive({ kind: "delta", stream: 1, offset: 3, text: "lo" }, 1)).toEqual({ kind: "text" });
		expect(live.text).toBe("Hello");
	});

	it("appends only the new part of an overlapping delta", () => {
		const live = new LiveText("Hello, wo");
		live.receive({ kind: "delta", stream: 1, offset: 7, text: "world" }, 1);
		expect(live.text).toBe("Hello, world");
	});

	it("ignores a delta it already holds", () => {
		const live = new LiveText("Hello");
		expect(live.receive({ kind: "delta", stream: 1, offset: 1, text: "ell" }, 1)).toEqual({ kind: "none" });
		expect(live.receive({ kind: "delta", stream: 1, offset: 0, text: "Hello" }, 1)).toEqual({ kind: "none" });
		expect(live.text).toBe("Hello");
	});

	it("ignores malformed messages", () => {
		const live = new LiveText("a");
		for (const message of [
			null,
			"x",
			{ kind: "delta", stream: 1, offset: -1, text: "b" },
			{ kind: "nope", stream: 1 },
		]) {
			expect(live.receive(message, 1)).toEqual({ kind: "none" });
		}
		expect(live.text).toBe("a");
	});
});

describe("delivery protocol on a model", () => {
	it("mirrors in-order deltas into the model's content", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "Hello" });
		model.receive({ kind: "delta", stream: 3, offset: 5, text: ", world" });
		expect(model.get("content")).toBe("Hello, world");
		expect(model.get("is_streaming")).toBe(true);
		expect(model.sent).toEqual([]);
	});

	it("appends only the unheld part of an overlapping delta", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "abc" });
		model.receive({ kind: "delta", stream: 3, offset: 1, text: "bcdef" });
		expect(model.get("content")).toBe("abcdef");
	});

	it("ignores a wholly held delta without touching the model", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "abcdef" });
		const sets = model.sets.length;
		model.receive({ kind: "delta", stream: 3, offset: 2, text: "cd" });
		expect(model.get("content")).toBe("abcdef");
		expect(model.sets.length).toBe(sets);
	});

	it("asks for exactly one resync on a gap and ignores deltas and ends until the sync", () => {
		const model = streaming(7);
		model.receive({ kind: "delta", stream: 7, offset: 0, text: "abc" });
		model.receive({ kind: "delta", stream: 7, offset: 10, text: "lost" });
		model.receive({ kind: "delta", stream: 7, offset: 14, text: "more" });
		model.receive({ kind: "delta", stream: 7, offset: 3, text: "def" });
		model.receive({ kind: "end", stream: 7, offset: 18, text: "", length: 18, error: null });
		expect(model.sent).toEqual([{ kind: "resync", stream: 7 }]);
		expect(model.get("content")).toBe("abc");
		expect(model.get("is_streaming")).toBe(true);

		model.receive({
			kind: "sync",
			stream: 7,
			content: "abcdefghijlostmore",
			is_streaming: true,
			error: null,
		});
		expect(model.get("content")).toBe("abcdefghijlostmore");
		model.receive({ kind: "delta", stream: 7, offset: 18, text: "!" });
		expect(model.get("content")).toBe("abcdefghijlostmore!");
		expect(model.sent).toHaveLength(1);
	});

	it("takes content, is_streaming and error from a sync", () => {
		const model = streaming();
		model.receive({ kind: "sync", stream: 3, content: "full text", is_streaming: false, error: "boom" });
		expect(model.state).toMatchObject({ content: "full text", is_streaming: false, error: "boom" });
	});

	it("on a matching end sets content, is_streaming and error in ONE model.set", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "Hello" });
		const before = model.sets.length;
		const seen: unknown[] = [];
		// When any change event fires, all three values must already be final.
		model.on("change:content", () => seen.push(model.get("is_streaming")));
		model.receive({ kind: "end", stream: 3, offset: 5, text: ", world", length: 12, error: "stopped" });
		expect(model.sets.slice(before)).toEqual([
			{ content: "Hello, world", is_streaming: false, error: "stopped" },
		]);
		expect(seen).toEqual([false]);
		expect(model.sent).toEqual([]);
	});

	it("asks for a resync when the end's length does not match", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "Hello" });
		model.receive({ kind: "end", stream: 3, offset: 5, text: "!", length: 9, error: null });
		expect(model.sent).toEqual([{ kind: "resync", stream: 3 }]);
		expect(model.get("is_streaming")).toBe(true);
	});

	it("asks for a resync when the end itself leaves a gap", () => {
		const model = streaming();
		model.receive({ kind: "end", stream: 3, offset: 4, text: "tail", length: 8, error: null });
		expect(model.sent).toEqual([{ kind: "resync", stream: 3 }]);
		expect(model.get("content")).toBe("");
	});

	it("ignores messages of another stream", () => {
		const model = streaming(3);
		model.receive({ kind: "delta", stream: 2, offset: 0, text: "old" });
		model.receive({ kind: "end", stream: 2, offset: 0, text: "old", length: 3, error: null });
		model.receive({ kind: "sync", stream: 4, content: "future", is_streaming: false, error: null });
		model.receive({ kind: "delta", stream: 3, offset: 5, text: "gap?" });
		expect(model.state).toMatchObject({ content: "", is_streaming: true });
		// Only the delta of the current stream with a real gap asked for a resync.
		expect(model.sent).toEqual([{ kind: "resync", stream: 3 }]);
	});

	it("counts offsets in UTF-16 code units (emoji are two)", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "hi 👋" });
		expect("hi 👋".length).toBe(5);
		model.receive({ kind: "delta", stream: 3, offset: 5, text: " 🎉ok" });
		model.receive({ kind: "delta", stream: 3, offset: 8, text: "ok" }); // wholly held
		model.receive({ kind: "end", stream: 3, offset: 10, text: "", length: 10, error: null });
		expect(model.state).toMatchObject({ content: "hi 👋 🎉ok", is_streaming: false });
		expect(model.sent).toEqual([]);
	});

	it("keeps a surrogate pair whole when a delta overlaps it", () => {
		const model = streaming();
		model.receive({ kind: "delta", stream: 3, offset: 0, text: "a😀" });
		model.receive({ kind: "delta", stream: 3, offset: 1, text: "😀b" });
		expect(model.get("content")).toBe("a😀b");
	});

	it("starts over when a new stream starts, even while waiting for a sync", () => {
		const model = streaming(1);
		model.receive({ kind: "delta", stream: 1, offset: 9, text: "gap" });
		startStream(model, 2);
		model.receive({ kind: "delta", stream: 2, offset: 0, text: "fresh" });
		expect(model.get("content")).toBe("fresh");
		expect(model.sent).toEqual([{ kind: "resync", stream: 1 }]);
	});

	it("adopts content the kernel sets while not streaming", () => {
		const model = new FakeModel({ content: "old", _stream: 1 });
		connect(model);
		model.kernelUpdate({ content: "set from Python" });
		// A late delta that the new content already covers changes nothing.
		model.receive({ kind: "delta", stream: 1, offset: 0, text: "set" });
		expect(model.get("content")).toBe("set from Python");
	});

	it("stops listening when disposed", () => {
		const model = new FakeModel();
		const dispose = connect(model);
		dispose();
		expect(model.listenerCount).toBe(0);
	});
});
