/**
 * The incremental renderer must never show anything a one-shot render of the same
 * text would not: after every delta, and at the end, the DOM (minus the cursor) is
 * compared with a fresh render of the whole text.
 */
import { describe, expect, it } from "vitest";
import { lex, markdownToHtml, toHtml } from "../src/markdown";
import { MarkdownView } from "../src/markdown-view";
import { sanitizedFragment } from "../src/sanitize";
import { repairBlock } from "../src/tail-repair";
import { DOCUMENTS } from "./markdown-corpus";

/**
 * What a streaming view shows for `text`: each block as a one-shot render shows it, but
 * the last one rendered from its repaired source (tail-repair.ts), on its own.
 */
function streamingRender(text: string): string {
	const tokens = lex(text);
	let last = tokens.length - 1;
	while (last >= 0 && tokens[last]?.type === "space") last--;
	const html = tokens
		.map((token, i) => {
			const repaired = i === last ? repairBlock(token.raw, token.type) : token.raw;
			return repaired === token.raw ? toHtml([token]) : markdownToHtml(repaired);
		})
		.join("");
	const el = document.createElement("div");
	el.append(sanitizedFragment(html));
	return el.innerHTML;
}

function oneShot(text: string): string {
	const el = document.createElement("div");
	el.append(sanitizedFragment(markdownToHtml(text)));
	return el.innerHTML;
}

/** The view's HTML without the cursor and the grouping wrappers (text splits merged back). */
function shown(view: MarkdownView): string {
	const copy = view.element.cloneNode(true) as HTMLElement;
	for (const cursor of Array.from(copy.querySelectorAll(".nbstream-cursor"))) cursor.remove();
	for (const chunk of Array.from(copy.querySelectorAll(":scope > .nbstream-chunk"))) {
		chunk.replaceWith(...Array.from(chunk.childNodes));
	}
	copy.normalize();
	return copy.innerHTML;
}

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

function splitAt(text: string, cuts: number[]): string[] {
	const sorted = [...new Set(cuts)].sort((a, b) => a - b);
	const parts: string[] = [];
	let start = 0;
	for (const cut of [...sorted, text.length]) {
		if (cut > start) parts.push(text.slice(start, cut));
		start = Math.max(start, cut);
	}
	return parts;
}

function streamAndCompare(text: string, chunks: string[], chunkBlocks = 2): void {
	// Tiny groups, so every document exercises grouping and ungrouping.
	const view = new MarkdownView(document.createElement("div"), { chunkBlocks });
	let prefix = "";
	for (const chunk of chunks) {
		prefix += chunk;
		view.update(prefix, true);
		expect(view.element.querySelectorAll(".nbstream-cursor").length).toBeLessThanOrEqual(1);
		// While streaming: the one-shot render of the text with its open tail repaired.
		expect(shown(view), JSON.stringify(prefix)).toBe(streamingRender(prefix));
	}
	view.update(text, false);
	expect(view.element.querySelector(".nbstream-cursor")).toBeNull();
	expect(shown(view)).toBe(oneShot(text));
	// Grouping never nests and never leaves an empty group behind.
	const groups = Array.from(view.element.querySelectorAll(".nbstream-chunk"));
	expect(groups.every((g) => g.parentElement === view.element && g.childNodes.length > 0)).toBe(true);
}

describe("incremental markdown equals a one-shot render", () => {
	for (const [name, text] of Object.entries(DOCUMENTS)) {
		it(`${name}: one character at a time`, () => {
			streamAndCompare(text, Array.from(text));
		});

		it(`${name}: random split points`, () => {
			const next = random(name.length * 7919);
			for (let run = 0; run < 20; run++) {
				const cuts = Array.from({ length: 1 + Math.floor(next() * 12) }, () =>
					Math.floor(next() * text.length),
				);
				streamAndCompare(text, splitAt(text, cuts));
			}
		});
	}

	it("random documents from tricky lines, one character at a time", () => {
		const LINES = [
			"text line",
			"",
			"",
			"- item",
			"  - nested",
			"1. one",
			"2. two",
			"10) ten",
			"> quote",
			">",
			"```",
			"~~~py",
			"    indented",
			"| a | b |",
			"|---|:-:|",
			"---",
			"===",
			"# heading",
			"* * *",
			"<div>",
			"**bold** and `code`",
			"- [ ] task",
			"  continuation",
			"see [the docs][d] and [d]",
			"[d]: https://example.com/d",
			"def f(x: list[int]) -> dict[str, int]:",
		];
		const next = random(42);
		for (let doc = 0; doc < 40; doc++) {
			const lines = Array.from(
				{ length: 4 + Math.floor(next() * 12) },
				() => LINES[Math.floor(next() * LINES.length)],
			);
			const text = lines.join("\n");
			streamAndCompare(text, Array.from(text));
		}
	});

	it("keeps finished blocks' nodes untouched while the last block grows", () => {
		const view = new MarkdownView(document.createElement("div"));
		view.update("# Title\n\nFirst paragraph.\n\nSecond", true);
		const heading = view.element.querySelector("h1");
		const first = view.element.querySelector("p");
		view.update("# Title\n\nFirst paragraph.\n\nSecond paragraph grows", true);
		expect(view.element.querySelector("h1")).toBe(heading);
		expect(view.element.querySelector("p")).toBe(first);
	});

	it("re-renders an earlier block when a late definition changes it", () => {
		const view = new MarkdownView(document.createElement("div"));
		view.update("[x][r]\n\nmore", true);
		expect(view.element.querySelector("a")).toBeNull();
		view.update("[x][r]\n\nmore\n\n[r]: https://example.com", false);
		expect(view.element.querySelector("a")?.getAttribute("href")).toBe("https://example.com");
	});
});

describe("settled blocks are grouped for the browser's sake", () => {
	it("wraps all but the open tail, and unwraps when an early block changes", () => {
		const body = document.createElement("div");
		const view = new MarkdownView(body, { chunkBlocks: 4 });
		const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} with [a link][d].`);
		const text = paragraphs.join("\n\n");
		view.update(text, true);
		const groups = body.querySelectorAll(":scope > .nbstream-chunk");
		expect(groups.length).toBeGreaterThan(3);
		// The newest blocks stay outside any group: they may still be lexed again.
		expect(body.lastElementChild?.classList.contains("nbstream-chunk")).toBe(false);
		const kept = groups[0]?.firstElementChild;
		// A late definition changes every paragraph: the groups dissolve and re-form.
		const defined = `${text}\n\n[d]: https://example.com/d`;
		view.update(defined, false);
		expect(shown(view)).toBe(oneShot(defined));
		expect(body.querySelectorAll("a[href='https://example.com/d']").length).toBe(30);
		expect(kept?.isConnected).toBe(false);
		expect(body.querySelectorAll(":scope > .nbstream-chunk").length).toBeGreaterThan(3);
	});

	it("with the default size, a long answer ends up in groups of 64 blocks", () => {
		const body = document.createElement("div");
		const view = new MarkdownView(body);
		const text = Array.from({ length: 300 }, (_, i) => `Line ${i}.`).join("\n\n");
		view.update(text, false);
		const groups = Array.from(body.querySelectorAll(":scope > .nbstream-chunk"));
		// The lexer gives each paragraph and its blank-line separator a block of its own.
		expect(groups.length).toBe(Math.floor((599 - 8) / 64));
		expect(groups.every((g) => g.children.length === 32)).toBe(true);
		expect(shown(view)).toBe(oneShot(text));
	});
});
