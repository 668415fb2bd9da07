/**
 * Images are the user's choice (`allow_images`), never the model's: off, nothing is
 * fetched and an image is a placeholder; on, only http(s) and raster data: URLs load,
 * with exactly the attributes markdown.ts emits. Both widgets follow the trait live.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../src/channel";
import { connectLanes } from "../src/chat/lanes";
import { ChatView } from "../src/chat/view";
import { markdownToHtml } from "../src/markdown";
import { sanitizedFragment } from "../src/sanitize";
import { isSafeImageUrl } from "../src/url";
import { StreamView } from "../src/view";
import { answer, FakeChatModel, KernelTurn } from "./chat-helpers";
import { FakeModel, ManualFrames, startStream } from "./fake-model";
import { expectSafe, PAYLOADS } from "./safety";

const PNG =
	"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/** Image URLs that load once images are allowed. */
const LOADED = [
	"https://example.com/cat.png",
	"http://example.com/a/b.gif?x=1&y=2#f",
	"HTTPS://EXAMPLE.COM/UPPER.JPG",
	PNG,
	"data:image/gif;base64,R0lGODlhAQABAAAAACw=",
	"data:image/jpeg;base64,/9j/4AAQ",
	"data:image/webp;base64,UklGRg==",
];

/** Image URLs that stay placeholders even when images are allowed. */
const REFUSED = [
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	"&#106;avascript:alert(1)",
	"vbscript:msgbox(1)",
	"data:image/svg+xml,<svg onload=alert(1)>",
	"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
	"data:text/html,<script>alert(1)</script>",
	"data:image/png;charset=utf-8;base64,AAAA",
	"cat.png",
	"/files/cat.png",
	"./cat.png",
	"//example.com/cat.png",
	"ftp://example.com/cat.png",
	"file:///etc/passwd",
	"https://example.com/a\\b.png",
	"",
];

let parent: HTMLElement;
let frames: ManualFrames;
let streamView: StreamView | undefined;
let chatView: ChatView | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
});

afterEach(() => {
	streamView?.destroy();
	chatView?.destroy();
	streamView = undefined;
	chatView = undefined;
	parent.remove();
});

/** The markdown for an image, its URL in angle brackets so that spaces and parentheses stay in it. */
const image = (url: string, alt = "pic"): string => `![${alt}](<${url}>)`;

function render(markdown: string, allowImages: boolean): HTMLElement {
	const host = document.createElement("div");
	host.append(sanitizedFragment(markdownToHtml(markdown, { allowImages }), { allowImages }));
	return host;
}

describe("the image URL rule", () => {
	it.each(LOADED)("loads %j", (url) => {
		expect(isSafeImageUrl(url)).toBe(true);
	});

	it.each(REFUSED)("refuses %j", (url) => {
		expect(isSafeImageUrl(url)).toBe(false);
	});
});

describe("markdown images", () => {
	it.each(LOADED)("shows %j as a placeholder while images are off", (url) => {
		const host = render(image(url), false);
		expect(host.querySelector("img")).toBeNull();
		expect(host.querySelector(".nbstream-image")?.textContent).toContain("pic");
	});

	it.each(LOADED)("loads %j once images are allowed", (url) => {
		const host = render(image(url, 'a "cat" <b>'), true);
		const img = host.querySelector("img") as HTMLImageElement;
		expect(img.getAttribute("src")).toBe(url);
		expect(img.getAttribute("alt")).toBe('a "cat" <b>');
		expect(img.getAttributeNames().sort()).toEqual(["alt", "decoding", "loading", "referrerpolicy", "src"]);
		expect(img.getAttribute("loading")).toBe("lazy");
		expect(img.getAttribute("referrerpolicy")).toBe("no-referrer");
		expect(img.getAttribute("decoding")).toBe("async");
		expect(host.querySelector(".nbstream-image")).toBeNull();
	});

	it.each(REFUSED)("keeps %j a placeholder even when images are allowed", (url) => {
		const host = render(image(url), true);
		expect(host.querySelector("img")).toBeNull();
		// A "<" ends an angle-bracket destination: then it is text, not an image at all.
		if (!url.includes("<")) expect(host.querySelector(".nbstream-image")).not.toBeNull();
	});

	it("turns entity-encoded schemes into the URL they spell before judging it", () => {
		const host = render("![x](&#104;ttps://example.com/a.png) ![y](&#106;avascript:alert(1))", true);
		expect(Array.from(host.querySelectorAll("img"), (img) => img.getAttribute("src"))).toEqual([
			"https://example.com/a.png",
		]);
	});

	it.each(PAYLOADS)("renders %j safely with images allowed", (payload) => {
		expectSafe(render(payload, true), payload, { images: true });
	});
});

describe("the sanitizer and <img>", () => {
	const HOSTILE =
		'<img src="https://example.com/a.png" alt="a" onerror="alert(1)" srcset="https://evil.example/x 2x" ' +
		'style="position:fixed" width="9999" loading="eager" referrerpolicy="unsafe-url" usemap="#m" ismap>';

	it("drops every <img> while images are off", () => {
		const host = document.createElement("div");
		host.append(sanitizedFragment(HOSTILE));
		expect(host.innerHTML).toBe("");
	});

	it("keeps only src, alt and its own loading attributes when images are allowed", () => {
		const host = document.createElement("div");
		host.append(sanitizedFragment(HOSTILE, { allowImages: true }));
		const img = host.querySelector("img") as HTMLImageElement;
		expect(img.getAttributeNames().sort()).toEqual(["alt", "decoding", "loading", "referrerpolicy", "src"]);
		expect(img.getAttribute("loading")).toBe("lazy");
		expect(img.getAttribute("referrerpolicy")).toBe("no-referrer");
		expectSafe(host, HOSTILE, { images: true });
	});

	it.each([
		'<img src="javascript:alert(1)">',
		'<img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">',
		'<img src="java&#x09;script:alert(1)">',
		'<img src="/files/secret.png">',
		"<img>",
		'<svg><image href="https://example.com/a.png"/></svg>',
		'<picture><source srcset="https://example.com/a.png"><img src="https://example.com/b.png"></picture>',
	])("removes %j when images are allowed", (html) => {
		const host = document.createElement("div");
		host.append(sanitizedFragment(html, { allowImages: true }));
		expect(host.querySelector("img, image, source, picture")).toBeNull();
	});
});

describe("StreamView follows allow_images", () => {
	function mount(state: ConstructorParameters<typeof FakeModel>[0]): FakeModel {
		const model = new FakeModel(state);
		connect(model);
		streamView = new StreamView(model, parent, frames);
		return model;
	}

	it("shows a placeholder by default", () => {
		mount({ content: image("https://example.com/cat.png") });
		expect(parent.querySelector("img")).toBeNull();
		expect(parent.querySelector(".nbstream-image")).not.toBeNull();
	});

	it("loads the image when allowed, and re-renders when the trait changes", () => {
		const model = mount({ content: `intro\n\n${image("https://example.com/cat.png")}`, allow_images: true });
		expect(parent.querySelector("img")?.getAttribute("src")).toBe("https://example.com/cat.png");
		const intro = parent.querySelector("p");

		model.kernelUpdate({ allow_images: false });
		frames.flush();
		expect(parent.querySelector("img")).toBeNull();
		expect(parent.querySelector(".nbstream-image")).not.toBeNull();
		// Blocks without an image keep their DOM.
		expect(parent.querySelector("p")).toBe(intro);

		model.kernelUpdate({ allow_images: true });
		frames.flush();
		expect(parent.querySelector("img")).not.toBeNull();
	});

	it("re-renders images earlier in a streaming answer, not only the tail", () => {
		const model = mount({});
		startStream(model, 1);
		const text = `${image("https://example.com/cat.png")}\n\n${"para\n\n".repeat(20)}`;
		model.receive({ kind: "delta", stream: 1, offset: 0, text });
		frames.flush();
		expect(parent.querySelector("img")).toBeNull();
		model.kernelUpdate({ allow_images: true });
		frames.flush();
		expect(parent.querySelector("img")).not.toBeNull();
		model.receive({ kind: "delta", stream: 1, offset: text.length, text: "more" });
		frames.flush();
		expect(parent.querySelectorAll("img")).toHaveLength(1);
		expectSafe(parent, text, { images: true });
	});
});

describe("Chat follows allow_images", () => {
	function mount(model: FakeChatModel): void {
		connectLanes(model);
		chatView = new ChatView(model, parent, frames);
	}
	const answerBody = (): Element | null =>
		parent.querySelector(".nbstream-msg[data-role=assistant] > .nbstream-body");

	it("shows a placeholder by default, in answers and reasoning", () => {
		const markdown = image("https://example.com/cat.png");
		mount(new FakeChatModel({ _turns: [answer(1, markdown, { reasoning: markdown })] }));
		expect(parent.querySelector("img")).toBeNull();
		expect(parent.querySelectorAll(".nbstream-image")).toHaveLength(2);
	});

	it("loads images in finished answers when allowed, and follows the trait", () => {
		const model = new FakeChatModel({
			_turns: [answer(1, image("https://example.com/cat.png"))],
			allow_images: true,
		});
		mount(model);
		expect(answerBody()?.querySelector("img")?.getAttribute("src")).toBe("https://example.com/cat.png");
		model.kernelUpdate({ allow_images: false });
		frames.flush();
		expect(parent.querySelector("img")).toBeNull();
		model.kernelUpdate({ allow_images: true });
		frames.flush();
		expect(parent.querySelector("img")).not.toBeNull();
		expectSafe(parent, "chat", { images: true });
	});

	it("loads images in a streaming answer and its reasoning when allowed mid-stream", () => {
		const model = new FakeChatModel();
		mount(model);
		const turn = new KernelTurn(model, "show me");
		turn.delta(image("https://example.com/a.png"), "reasoning");
		turn.delta(image("https://example.com/b.png"));
		frames.flush();
		expect(parent.querySelector("img")).toBeNull();
		model.kernelUpdate({ allow_images: true });
		frames.flush();
		expect(Array.from(parent.querySelectorAll("img"), (img) => img.getAttribute("src")).sort()).toEqual([
			"https://example.com/a.png",
			"https://example.com/b.png",
		]);
		turn.finish();
		frames.flush();
		expect(answerBody()?.querySelector("img")).not.toBeNull();
	});
});
