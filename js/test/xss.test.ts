/**
 * Model output is untrusted. Every payload goes through the real pipeline (deltas →
 * model → view → markdown → sanitizer → DOM), whole and split across deltas, and the
 * DOM is checked after every frame, not just at the end.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../src/channel";
import { sanitizedFragment } from "../src/sanitize";
import { StreamView } from "../src/view";
import { FakeModel, ManualFrames, startStream } from "./fake-model";

const PAYLOADS = [
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	"<svg onload=alert(1)>",
	"[x](javascript:alert(1))",
	"[x](JaVaScRiPt:alert(1))",
	"[x](&#106;avascript:alert(1))",
	"[x](&#x6A;avascript&colon;alert(1))",
	"[x]( javascript:alert(1))",
	"[x](<javascript:alert(1)>)",
	"[x](java\tscript:alert(1))",
	"[x](data:text/html,<script>alert(1)</script>)",
	"[x](vbscript:msgbox(1))",
	"[x][ref]\n\n[ref]: javascript:alert(1)",
	"![x](javascript:alert(1))",
	"![x](https://example.com/a.png)",
	'<iframe src="javascript:alert(1)"></iframe>',
	"<style>body{display:none}</style>",
	'<a href="javascript:alert(1)">x</a>',
	"<javascript:alert(1)>",
	"text <b onmouseover=alert(1)>hover</b> text",
	"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
	'<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
	"<object data=javascript:alert(1)></object><embed src=x><form><input type=text></form>",
	"<base href=javascript:/><link rel=stylesheet href=x><meta http-equiv=refresh content=0>",
	"```html\n<script>alert(1)</script>\n```",
	"`<img src=x onerror=alert(1)>`",
	"- [ ] <input onfocus=alert(1) autofocus>",
	"| a |\n|---|\n| <img src=x onerror=alert(1)> |",
	"> <iframe srcdoc='<script>alert(1)</script>'>",
];

const FORBIDDEN =
	"script, iframe, style, svg, math, img, object, embed, form, link, meta, base, frame, video, audio";
const SAFE_HREF = /^(https?:|mailto:|#|\/|\.|[^:/?#]*(?:[/?#]|$))/i;

/** Everything the brief promises about untrusted output, checked on a live subtree. */
function expectSafe(root: Element, payload: string): void {
	expect(root.querySelector(FORBIDDEN), payload).toBeNull();
	for (const el of Array.from(root.querySelectorAll("*"))) {
		for (const { name } of Array.from(el.attributes)) {
			expect(name.toLowerCase().startsWith("on"), `${payload}: ${name} on <${el.localName}>`).toBe(false);
			expect(name.toLowerCase(), payload).not.toBe("style");
			expect(name.toLowerCase(), payload).not.toBe("srcdoc");
		}
	}
	for (const input of Array.from(root.querySelectorAll("input"))) {
		expect(input.getAttribute("type"), payload).toBe("checkbox");
	}
	for (const a of Array.from(root.querySelectorAll("a"))) {
		const href = a.getAttribute("href") ?? "";
		expect(href, payload).toMatch(SAFE_HREF);
		expect(href.replace(/\s/g, "").toLowerCase(), payload).not.toMatch(/^(javascript|data|vbscript):/);
		expect(a.getAttribute("rel"), payload).toBe("noopener noreferrer");
		expect(a.getAttribute("target"), payload).toBe("_blank");
	}
}

let parent: HTMLElement;
let frames: ManualFrames;
let view: StreamView | undefined;

beforeEach(() => {
	parent = document.createElement("div");
	document.body.append(parent);
	frames = new ManualFrames();
});

afterEach(() => {
	view?.destroy();
	parent.remove();
});

/** Stream `chunks` as deltas, flushing a frame after each; check the DOM every time. */
function streamChunks(chunks: string[], payload: string): HTMLElement {
	const model = new FakeModel();
	connect(model);
	view = new StreamView(model, parent, frames);
	startStream(model, 1);
	let offset = 0;
	for (const text of chunks) {
		model.receive({ kind: "delta", stream: 1, offset, text });
		offset += text.length;
		frames.flush();
		expectSafe(view.root, payload);
	}
	model.receive({ kind: "end", stream: 1, offset, text: "", length: offset, error: null });
	frames.flush();
	expectSafe(view.root, payload);
	return view.root;
}

describe("untrusted output", () => {
	it.each(PAYLOADS)("renders %j safely in one piece", (payload) => {
		const root = streamChunks([payload], payload);
		// Nothing is lost either: what was markup is shown as text.
		expect(root.textContent?.length).toBeGreaterThan(0);
	});

	it.each(PAYLOADS)("renders %j safely one character at a time", (payload) => {
		streamChunks(Array.from(payload), payload);
	});

	it("keeps the payload's text visible as text", () => {
		const root = streamChunks(["<script>alert(1)</script>\n\nand [x](javascript:alert(1))"], "mixed");
		expect(root.querySelector(".nbstream-body")?.textContent).toContain("<script>alert(1)</script>");
		// An unsafe link becomes its plain text.
		expect(root.querySelector("a")).toBeNull();
		expect(root.querySelector(".nbstream-body")?.textContent).toContain("and x");
	});

	it("keeps safe links", () => {
		const root = streamChunks(
			["[a](https://a.example) [b](mailto:me@example.com) [c](#part) [d](./file.md) [e](/abs)"],
			"safe",
		);
		const hrefs = Array.from(root.querySelectorAll("a")).map((a) => a.getAttribute("href"));
		expect(hrefs).toEqual(["https://a.example", "mailto:me@example.com", "#part", "./file.md", "/abs"]);
	});
});

describe("sanitizer on hostile HTML (if markdown.ts ever let some through)", () => {
	const HOSTILE = [
		'<img src=x onerror="alert(1)"><p onclick="alert(1)" style="color:red" id="x">p</p>',
		'<a href="javascript:alert(1)" onclick="alert(1)">a</a><a href="&#106;avascript:alert(1)">b</a>',
		'<a href="java&#x09;script:alert(1)">c</a><a href="  JAVASCRIPT:alert(1)">d</a>',
		'<a href="data:text/html,x">e</a><a href="vbscript:x">f</a><a href="https://ok.example" target="_self">ok</a>',
		'<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg><math><a href="javascript:1">m</a></math>',
		'<script>alert(1)</script><style>*{}</style><iframe src="x"></iframe><template><img src=x></template>',
		'<input type="text" value="x"><input type="checkbox" checked onchange="alert(1)">',
		'<code class="language-py evil" data-x="1">c</code><ol start="1 onclick=x"><li>i</li></ol>',
		'<custom-el onclick="x"><b>kept text</b></custom-el><!-- comment -->',
		'<td align="javascript:x">cell</td><form action="x"><button>b</button></form>',
	];

	it.each(HOSTILE)("cleans %j", (html) => {
		const host = document.createElement("div");
		host.append(sanitizedFragment(html));
		expectSafe(host, html);
		expect(host.querySelector("b, custom-el, button, template")).toBeNull();
		expect(host.innerHTML).not.toContain("<!--");
	});

	it("keeps what it allows", () => {
		const host = document.createElement("div");
		host.append(
			sanitizedFragment('<pre><code class="language-py">x</code></pre><a href="https://ok.example">ok</a>'),
		);
		expect(host.querySelector("code")?.className).toBe("language-py");
		expect(host.querySelector("a")?.getAttribute("href")).toBe("https://ok.example");
		const custom = document.createElement("div");
		custom.append(sanitizedFragment("<custom-el><em>kept</em> text</custom-el>"));
		expect(custom.innerHTML).toBe("<em>kept</em> text");
	});
});
