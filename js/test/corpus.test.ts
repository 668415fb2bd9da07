/**
 * The split entries of the shared corpus (tests/xss_corpus.json): payloads that only
 * become an attack once their deltas are joined. Each part is its own delta, the DOM
 * is checked after every frame, and the joined text must still be shown as text. The
 * whole corpus also goes through once as a single answer, the way the browser test
 * streams it, with images off and on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../src/channel";
import { connectLanes } from "../src/chat/lanes";
import { ChatView } from "../src/chat/view";
import { StreamView } from "../src/view";
import { FakeChatModel, KernelTurn } from "./chat-helpers";
import { FakeModel, ManualFrames, startStream } from "./fake-model";
import { CORPUS, expectSafe, PAYLOADS, SPLITS } from "./safety";

let parent: HTMLElement;
let frames: ManualFrames;
let destroy: (() => void) | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
	Reflect.deleteProperty(window, "__pwned");
});

afterEach(() => {
	destroy?.();
	destroy = undefined;
	parent.remove();
	expect(Reflect.get(window, "__pwned")).toBeUndefined();
});

/** Stream `parts` into a StreamView, a delta each, checking after every frame. */
function streamView(parts: readonly string[], allowImages = false): HTMLElement {
	const model = new FakeModel({ allow_images: allowImages });
	connect(model);
	const view = new StreamView(model, parent, frames);
	destroy = () => view.destroy();
	const label = parts.join("");
	startStream(model, 1);
	let offset = 0;
	for (const text of parts) {
		model.receive({ kind: "delta", stream: 1, offset, text });
		offset += text.length;
		frames.flush();
		expectSafe(view.root, label, { images: allowImages });
	}
	model.receive({ kind: "end", stream: 1, offset, text: "", length: offset, error: null });
	frames.flush();
	expectSafe(view.root, label, { images: allowImages });
	return view.root;
}

/** Stream `parts` as a Chat answer and its reasoning, a delta each, checking after every frame. */
function streamChat(parts: readonly string[], allowImages = false): HTMLElement {
	const model = new FakeChatModel({ allow_images: allowImages });
	connectLanes(model);
	const view = new ChatView(model, parent, frames);
	destroy = () => view.destroy();
	const label = parts.join("");
	const turn = new KernelTurn(model, "say something hostile");
	for (const text of parts) {
		turn.delta(text);
		turn.delta(text, "reasoning");
		frames.flush();
		expectSafe(view.root, label, { images: allowImages });
	}
	turn.finish();
	frames.flush();
	expectSafe(view.root, label, { images: allowImages });
	return view.root;
}

describe("the corpus", () => {
	it("holds split entries, and every part of them is non-empty", () => {
		expect(SPLITS.length).toBeGreaterThan(5);
		for (const parts of SPLITS) for (const part of parts) expect(part).not.toBe("");
	});
});

describe("payloads split across deltas", () => {
	it.each(SPLITS)("StreamView renders %j safely, part by part", (...parts) => {
		const root = streamView(parts);
		// The joined payload is there to read, not to run: its pieces are all text.
		expect(root.textContent).not.toBe("");
	});

	it.each(SPLITS)("Chat renders %j safely, part by part", (...parts) => {
		streamChat(parts);
	});
});

describe("the whole corpus as one answer", () => {
	// Blank lines between payloads, as the browser test streams it; every split entry
	// keeps its own deltas.
	const deltas = CORPUS.flatMap((parts) => [...parts, "\n\n"]);
	// ~300 frames, each checked in full: seconds, more on a busy machine.
	const SLOW = 30_000;

	it.each([false, true])(
		"StreamView stays safe (images allowed: %s)",
		(allowImages) => {
			const root = streamView(deltas, allowImages);
			const sources = Array.from(root.querySelectorAll("img"), (img) => img.getAttribute("src"));
			// Allowed, only the markdown images with an https URL load; the HTML ones never do.
			expect(new Set(sources)).toEqual(
				new Set(
					allowImages
						? [
								"https://example.com/a.png",
								"https://evil.example/pixel.gif?user=me",
								"https://evil.example/ref-pixel.png",
								"https://evil.example/split-pixel.png",
							]
						: [],
				),
			);
		},
		SLOW,
	);

	it.each([false, true])(
		"Chat stays safe (images allowed: %s)",
		(allowImages) => {
			streamChat(deltas, allowImages);
		},
		SLOW,
	);

	it("loses no payload: each one alone renders some text", () => {
		for (const payload of PAYLOADS) {
			const root = streamView([payload]);
			expect(root.textContent?.trim(), payload).not.toBe("");
			destroy?.();
		}
	});
});
