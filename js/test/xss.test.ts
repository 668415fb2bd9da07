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
import { expectSafe, PAYLOADS } from "./safety";

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
