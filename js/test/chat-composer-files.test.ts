/**
 * Files attached while writing: by paste, by drop and by the Attach button; chips with a
 * remove button; on Send their bytes go to the kernel once, as the message's buffers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import { ChatView } from "../src/chat/view";
import { FakeChatModel } from "./chat-helpers";
import { ManualFrames } from "./fake-model";

let parent: HTMLElement;
let model: FakeChatModel;
let view: ChatView | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	model = new FakeChatModel({});
	connectLanes(model);
	view = new ChatView(model, parent, new ManualFrames());
	vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:local");
	vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => undefined);
});

afterEach(() => {
	view?.destroy();
	parent.remove();
	vi.restoreAllMocks();
});

const input = (): HTMLTextAreaElement => parent.querySelector(".nbstream-chat-input") as HTMLTextAreaElement;
const chips = (): HTMLElement[] =>
	Array.from(parent.querySelectorAll(".nbstream-pending .nbstream-attachment"));

/** An event carrying `files`, as a paste's clipboardData or a drop's dataTransfer. */
function withFiles(type: string, files: File[], key: "clipboardData" | "dataTransfer"): Event {
	const event = new Event(type, { bubbles: true, cancelable: true });
	Object.defineProperty(event, key, { value: { files, types: ["Files"], dropEffect: "none" } });
	return event;
}

const png = (): File =>
	new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "red.png", { type: "image/png" });
const notes = (): File => new File(["one\ntwo\n"], "notes.txt", { type: "text/plain" });

describe("attaching files in the composer", () => {
	it("takes a pasted image and a dropped file as chips, and sends their bytes once", async () => {
		const paste = withFiles("paste", [png()], "clipboardData");
		input().dispatchEvent(paste);
		expect(paste.defaultPrevented).toBe(true);
		const drop = withFiles("drop", [notes()], "dataTransfer");
		(parent.querySelector(".nbstream-chat-compose") as HTMLElement).dispatchEvent(drop);
		expect(drop.defaultPrevented).toBe(true);
		expect(chips().map((c) => c.dataset.kind)).toEqual(["image", "text"]);
		expect(chips()[0]?.querySelector("img")?.getAttribute("src")).toBe("blob:local");
		expect(chips()[1]?.textContent).toContain("notes.txt");
		expect(chips()[1]?.querySelector(".nbstream-attachment-detail")?.textContent).toBe("8 B");
		expect(chips()[0]?.querySelector(".nbstream-attachment-detail")?.textContent).toBe("4 B");

		input().value = "What are these?";
		(parent.querySelector('button[aria-label="Send message"]') as HTMLButtonElement).click();
		await vi.waitFor(() => expect(model.sent).toHaveLength(1));
		expect(model.sent[0]).toEqual({
			kind: "send",
			text: "What are these?",
			files: [
				{ name: "red.png", type: "image/png" },
				{ name: "notes.txt", type: "text/plain" },
			],
		});
		const [image, text] = model.buffers[0] as ArrayBuffer[];
		expect(Array.from(new Uint8Array(image as ArrayBuffer))).toEqual([0x89, 0x50, 0x4e, 0x47]);
		expect(new TextDecoder().decode(text)).toBe("one\ntwo\n");
		// Sent once: the chips are gone, and the blob: URL let go.
		expect(chips()).toHaveLength(0);
		expect((parent.querySelector(".nbstream-pending") as HTMLElement).hidden).toBe(true);
		expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:local");
	});

	it("removes a chip with its button, and sends files without text", async () => {
		input().dispatchEvent(withFiles("paste", [png(), notes()], "clipboardData"));
		(parent.querySelector('button[aria-label="Remove red.png"]') as HTMLButtonElement).click();
		expect(chips().map((c) => c.textContent)).toEqual(["📄notes.txt8 B×"]);
		expect(document.activeElement).toBe(input());
		input().dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
		await vi.waitFor(() => expect(model.sent).toHaveLength(1));
		expect(model.sent[0]).toMatchObject({ kind: "send", text: "", files: [{ name: "notes.txt" }] });
		expect(model.buffers[0]).toHaveLength(1);
	});

	it("lets text pastes through, and refuses a file too large to send, saying so", () => {
		const paste = withFiles("paste", [], "clipboardData");
		input().dispatchEvent(paste);
		expect(paste.defaultPrevented).toBe(false);
		const huge = new File(["x"], "huge.bin");
		Object.defineProperty(huge, "size", { value: 30 * 1024 * 1024 });
		input().dispatchEvent(withFiles("paste", [huge], "clipboardData"));
		expect(chips()).toHaveLength(0);
		expect(parent.querySelector(".nbstream-notice")?.textContent).toContain("huge.bin is 30.0 MB");
	});

	it("gives the words back when the kernel refuses the message", () => {
		input().value = "";
		model.receive({ kind: "notice", text: "cannot attach x.bin: a file must be…", draft: "my question" });
		expect(input().value).toBe("my question");
		expect(parent.querySelector(".nbstream-notice")?.textContent).toContain("cannot attach x.bin");
		input().value = "newer words";
		model.receive({ kind: "notice", text: "again", draft: "my question" });
		expect(input().value).toBe("newer words");
	});
});
