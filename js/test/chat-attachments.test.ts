/**
 * A question's attachments show in the history as chips: the kernel's thumbnail for an
 * image, an icon otherwise, the name and what it holds. Views are untrusted: only the
 * kernel's own base64 thumbnails load, and names are text.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectLanes } from "../src/chat/lanes";
import type { Turn } from "../src/chat/types";
import { ChatView } from "../src/chat/view";
import { answer, FakeChatModel, user } from "./chat-helpers";
import { ManualFrames } from "./fake-model";

const PNG =
	"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

let parent: HTMLElement;
let view: ChatView | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
});

afterEach(() => {
	view?.destroy();
	parent.remove();
	Reflect.deleteProperty(window, "__pwned");
});

function mount(turns: Turn[]): HTMLElement {
	const model = new FakeChatModel({ _turns: turns });
	connectLanes(model);
	view = new ChatView(model, parent, new ManualFrames());
	return parent.querySelector('.nbstream-msg[data-id="1"]') as HTMLElement;
}

function asked(attachments: unknown): Turn {
	return { ...user(1, "What stands out?"), attachments };
}

describe("attachment chips in the history", () => {
	it("shows each attachment by kind: thumbnail, name, detail and size", () => {
		const msg = mount([
			asked([
				{ kind: "image", name: "plot.png", size: 1_048_576, detail: "640 × 480 px PNG", thumbnail: PNG },
				{ kind: "table", name: "df", size: 2_300, detail: "100 rows × 3 columns", thumbnail: "" },
				{ kind: "text", name: "notes.txt", size: 12, detail: "", thumbnail: "" },
			]),
			answer(2, "Three things."),
		]);
		const list = msg.querySelector(".nbstream-attachments") as HTMLElement;
		expect(list.getAttribute("aria-label")).toBe("3 attachments");
		const chips = Array.from(list.querySelectorAll<HTMLElement>(".nbstream-attachment"));
		expect(chips.map((c) => c.dataset.kind)).toEqual(["image", "table", "text"]);
		expect(chips[0]?.querySelector("img")?.getAttribute("src")).toBe(PNG);
		expect(chips[0]?.textContent).toContain("plot.png");
		expect(chips[0]?.textContent).toContain("640 × 480 px PNG · 1.0 MB");
		expect(chips[1]?.querySelector("img")).toBeNull();
		expect(chips[1]?.textContent).toContain("100 rows × 3 columns · 2.2 kB");
		expect(chips[2]?.textContent).toContain("notes.txt12 B");
		// The question's text stays as typed, apart from its chips.
		expect(msg.querySelector(".nbstream-body")?.textContent).toBe("What stands out?");
		expect(parent.querySelector('.nbstream-msg[data-id="2"] .nbstream-attachments')).toBeNull();
	});

	it("loads no thumbnail but the kernel's base64 images, and shows names as text", () => {
		const msg = mount([
			asked([
				{
					kind: "image",
					name: '<img src=x onerror="window.__pwned=1">',
					size: 1,
					detail: "",
					thumbnail: "https://tracker.example/p.gif",
				},
				{
					kind: "image",
					name: "svg",
					size: 1,
					detail: "",
					thumbnail: "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
				},
				{
					kind: "<b>odd</b>",
					name: "x",
					size: -1,
					detail: "<script>window.__pwned=2</script>",
					thumbnail: `${PNG}"onerror="x`,
				},
				"not a view",
			]),
		]);
		expect(msg.querySelectorAll("img")).toHaveLength(0);
		expect(msg.querySelectorAll("script, b")).toHaveLength(0);
		const chips = Array.from(msg.querySelectorAll<HTMLElement>(".nbstream-attachment"));
		expect(chips).toHaveLength(3);
		expect(chips[0]?.textContent).toContain('<img src=x onerror="window.__pwned=1">');
		expect(chips[2]?.dataset.kind).toBe("text");
		expect(Reflect.get(window, "__pwned")).toBeUndefined();
	});

	it("shows no list for a question without attachments", () => {
		const msg = mount([user(1, "Plain question")]);
		expect(msg.querySelector(".nbstream-attachments")).toBeNull();
	});
});
