/**
 * The open tail of a streaming answer shows formatted as it grows (tail-repair.ts):
 * no raw `**`, no partial URL, no flip from markup to formatting when a closer arrives.
 */
import { describe, expect, it } from "vitest";
import { MarkdownView } from "../src/markdown-view";
import { repairBlock } from "../src/tail-repair";
import { DOCUMENTS } from "./markdown-corpus";

/** What a reader sees of `text` streaming: the view's text, without the cursor. */
function streamed(text: string): { text: string; html: string } {
	const view = new MarkdownView(document.createElement("div"));
	view.update(text, true);
	const el = view.element.cloneNode(true) as HTMLElement;
	for (const cursor of Array.from(el.querySelectorAll(".nbstream-cursor"))) cursor.remove();
	return { text: el.textContent ?? "", html: el.innerHTML };
}

function final(text: string): string {
	const view = new MarkdownView(document.createElement("div"));
	view.update(text, false);
	return view.element.textContent ?? "";
}

describe("while streaming, open markup renders formatted up to the cursor", () => {
	const cases: [string, string, string][] = [
		["strong", "Some **bold te", "<strong>bold te</strong>"],
		["emphasis with *", "Some *em te", "<em>em te</em>"],
		["emphasis with _", "Some _em te", "<em>em te</em>"],
		["strikethrough", "Some ~~gone te", "<del>gone te</del>"],
		["inline code", "Run `pip inst", "<code>pip inst</code>"],
		["nested, closed in order", "**strong *em", "<strong>strong <em>em</em></strong>"],
		["strong and emphasis at once", "***both", "<em><strong>both</strong></em>"],
		["in a list item", "- **Item", "<li><strong>Item</strong></li>"],
		["in a heading", "## The **plan", "<strong>plan</strong>"],
	];
	for (const [name, text, html] of cases) {
		it(name, () => {
			const shown = streamed(text);
			expect(shown.html).toContain(html);
			expect(shown.text).not.toMatch(/[*_~`]/);
		});
	}

	it("code keeps its markers as text", () => {
		expect(streamed("Run `a**b").html).toContain("<code>a**b</code>");
	});

	it("a marker with nothing after it yet shows nothing", () => {
		expect(streamed("Some **").text.trim()).toBe("Some");
		expect(streamed("Some `").text.trim()).toBe("Some");
		expect(streamed("Some ~~").text.trim()).toBe("Some");
	});

	it("leaves closed markup, intraword underscores and list bullets alone", () => {
		for (const text of ["Some **bold** text", "snake_case_name", "- item", "* item", "2*3 = 6"]) {
			expect(repairBlock(text, "paragraph")).toBe(text);
		}
	});

	it("an open fence already renders as code", () => {
		expect(streamed("```python\ndef f(").html).toContain("<pre><code");
	});
});

describe("links and images still arriving", () => {
	it("a link whose URL is incomplete shows its text, not clickable, never the URL", () => {
		for (const text of ["See [the docs", "See [the docs]", "See [the docs](", "See [the docs](https://exa"]) {
			const shown = streamed(text);
			expect(shown.text.trim(), text).toBe("See the docs");
			expect(shown.html).not.toContain("<a");
			expect(shown.text).not.toContain("exa");
		}
	});

	it("a complete link is a link", () => {
		expect(streamed("See [the docs](https://example.com) now").html).toContain(
			'<a href="https://example.com"',
		);
	});

	it("an image whose URL is incomplete shows nothing yet", () => {
		for (const text of ["Look ![a cat", "Look ![a cat](https://exa"]) {
			const shown = streamed(text);
			expect(shown.text.trim()).toBe("Look");
			expect(shown.html).not.toContain("nbstream-image");
		}
	});
});

describe("tables", () => {
	it("a table whose header row has arrived renders as a table", () => {
		for (const text of ["| Name | Job |\n", "| Name | Job |\n| --", "Intro\n\n| Name | Job |\n|:-"]) {
			const shown = streamed(text);
			expect(shown.html, text).toContain("<table>");
			expect(shown.html).toContain("<th>Name</th>");
			expect(shown.text).not.toContain("|");
		}
	});

	it("a header row still arriving shows once it is complete, never as pipes", () => {
		expect(streamed("Intro\n| Name | Jo").text.trim()).toBe("Intro");
		expect(streamed("| Name | Job |\n| --- | --- |\n| a | b").html).toContain("<td>a</td>");
	});
});

/** Characters that are markup when they pair up, text otherwise. */
const MARKUP = ["*", "_", "~", "`", "[", "]", "|"];

function count(text: string, char: string): number {
	return text.split(char).length - 1;
}

describe("no frame shows a markup character that the final render hides", () => {
	for (const [name, text] of Object.entries(DOCUMENTS)) {
		// `[the docs][docs]` cannot be known for a link before its definition arrives
		// (it may never): until then it shows as the text it would otherwise be.
		if (name === "late reference definition") continue;
		it(`${name}, one character at a time`, () => {
			const end = final(text);
			const view = new MarkdownView(document.createElement("div"));
			for (let i = 1; i <= text.length; i++) {
				view.update(text.slice(0, i), true);
				const shown = (view.element.textContent ?? "").replace(/\u200b/g, "");
				for (const char of MARKUP) {
					const more = count(shown, char) > count(end, char);
					expect(more, `${JSON.stringify(text.slice(0, i))} shows ${char}: ${JSON.stringify(shown)}`).toBe(
						false,
					);
				}
				expect(shown).not.toContain("](");
			}
			view.update(text, false);
			expect(view.element.textContent).toBe(end);
		});
	}
});
