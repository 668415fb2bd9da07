/**
 * Renders a growing markdown text into one element, incrementally.
 *
 * Each update lexes the text into top-level blocks, renders each to an HTML string
 * and compares it with the blocks already on screen. Blocks whose HTML is unchanged
 * keep their DOM untouched; everything from the first changed block on is parsed,
 * sanitized and inserted again. While a stream grows
 * that is normally just the last block, yet it stays correct when new text changes
 * the meaning of earlier blocks (a list that continues after a blank line, a late
 * reference-link definition): the DOM always equals a one-shot render.
 *
 * Lexing the whole text every frame would cost O(length) per frame, so while
 * streaming only the tail is lexed again, from a few blocks before the end (see
 * `#reusableHead`); at rest (stream ended, or content set) the whole text is lexed.
 */
import { lex, type Token, toHtml } from "./markdown";
import { renderMath } from "./math";
import { sanitizedFragment } from "./sanitize";
import { repairBlock } from "./tail-repair";

interface Block {
	/**
	 * The block's HTML: what decides whether its DOM can stay. Equal source is not
	 * enough, as the same source may render differently depending on what
	 * follows it, or on a link definition elsewhere.
	 */
	html: string;
	type: string;
	/** Offset of `raw` in the text. */
	start: number;
	/** The top-level nodes this block rendered to (may be none, e.g. blank lines). */
	nodes: ChildNode[];
}

/** Elements the cursor may go into, to sit right after the last character. */
/**
 * How many non-blank blocks at the end are lexed again while streaming. Appended text
 * changes the last block (it grows) and can change the one before it ("1. a", blank
 * line, "2" becoming "2." joins the list; a paragraph's last line becoming a table's
 * header, or a setext heading). With marked, the randomized test in
 * test/incremental.test.ts found a case needing 3 and none needing more; our parser
 * follows CommonMark more closely, and 4 keeps the margin. At rest the whole
 * text is lexed again, so a miss could only ever show while streaming.
 */
const OPEN_BLOCKS = 4;

/**
 * Could `text` hold a reference definition (`[label]: url`)? Conservative: a line that
 * starts, after any indentation and quote or list markers, with "[", in a text that
 * also has "]:". Python's `def f() -> dict[str, int]:` alone does not count.
 */
function mayDefineLinks(text: string): boolean {
	return text.includes("]:") && /^[ \t>*+\-0-9.)]*\[/m.test(text);
}

const TEXT_CONTAINERS = new Set([
	"p",
	"h1",
	"h2",
	"h3",
	"h4",
	"h5",
	"h6",
	"ul",
	"ol",
	"li",
	"blockquote",
	"pre",
	"table",
	"thead",
	"tbody",
	"tr",
	"th",
	"td",
	"div",
]);

/**
 * Settled blocks are grouped, this many at a time, into `div.nbstream-chunk` wrappers
 * with CSS containment. A 170 kB answer is ~2,000 top-level blocks, and without the
 * wrappers Chromium walks all of them for layout and pre-paint on every frame: the
 * browser benchmark measured frame cost doubling over the answer (5.4 → 11.7 ms);
 * contained groups make that cost flat.
 */
const CHUNK_BLOCKS = 64;

export interface MarkdownOptions {
	/**
	 * Called with each block's sanitized nodes before they go into the page, to add
	 * controls of our own (the chat's "Copy code" buttons). It may wrap elements, but
	 * must keep the text where it was so the cursor still lands after the last character.
	 */
	decorate?: (fragment: DocumentFragment) => void;
	/** Blocks per containment wrapper (tests use small ones). */
	chunkBlocks?: number;
	/** Load images (see markdown.ts `RenderOptions`); can be changed later with `setAllowImages`. */
	allowImages?: boolean;
}

export class MarkdownView {
	readonly element: HTMLElement;
	readonly #decorate: ((fragment: DocumentFragment) => void) | undefined;
	#blocks: Block[] = [];
	#text = "";
	/** The blocks' sources add up to the text, so their offsets can be trusted. */
	#exact = false;
	/** The last render lexed only the tail; at rest we lex everything once more. */
	#partial = false;
	#cursor: HTMLElement | null = null;
	readonly #chunkBlocks: number;
	/** The wrappers, in order; together they hold the first `#chunks.length * #chunkBlocks` blocks. */
	#chunks: HTMLDivElement[] = [];
	#allowImages: boolean;
	/** The image option changed since the last render: every block must be rendered again. */
	#stale = false;
	/** The last block shows repaired (tail-repair.ts): at rest it is rendered as it is. */
	#repaired = false;

	constructor(element: HTMLElement, options: MarkdownOptions = {}) {
		this.element = element;
		this.#decorate = options.decorate;
		this.#chunkBlocks = Math.max(1, options.chunkBlocks ?? CHUNK_BLOCKS);
		this.#allowImages = Boolean(options.allowImages);
	}

	/** Load images or show placeholders from the next `update` on. Cheap when unchanged. */
	setAllowImages(allow: boolean): void {
		if (allow === this.#allowImages) return;
		this.#allowImages = allow;
		this.#stale = true;
	}

	/** Show `text`; while `streaming`, with a cursor after its last character. */
	update(text: string, streaming: boolean): void {
		this.#removeCursor();
		if (text !== this.#text || (!streaming && (this.#partial || this.#repaired)) || this.#stale) {
			// Blocks are compared by their HTML, so only those with an image are replaced.
			const from = streaming && !this.#stale ? this.#reusableHead(text) : 0;
			this.#stale = false;
			this.#render(text, from, streaming);
			this.#text = text;
			this.#partial = from > 0;
		}
		if (streaming && text) this.#placeCursor();
	}

	/**
	 * Render `text`, trusting that blocks before index `from` are unchanged; while
	 * `streaming`, the last block as tail-repair.ts repairs it.
	 */
	#render(text: string, from: number, streaming: boolean): void {
		const offset = from > 0 ? (this.#blocks[from] as Block).start : 0;
		const tokens = lex(offset > 0 ? text.slice(offset) : text);
		const options = { allowImages: this.#allowImages };
		const htmls = tokens.map((token) => toHtml([token], options));
		this.#repaired = false;
		let last = tokens.length - 1;
		while (last >= 0 && (tokens[last] as Token).type === "space") last--;
		if (streaming && last >= 0) {
			const token = tokens[last] as Token;
			const repaired = repairBlock(token.raw, token.type);
			if (repaired !== token.raw) {
				// Rendered from the repaired source; offsets still count the real one.
				htmls[last] = toHtml(lex(repaired), options);
				this.#repaired = true;
			}
		}
		let first = from;
		const limit = Math.min(from + tokens.length, this.#blocks.length);
		while (first < limit && (this.#blocks[first] as Block).html === htmls[first - from]) first++;
		this.#unwrapFrom(first);
		for (const block of this.#blocks.splice(first)) {
			for (const node of block.nodes) node.remove();
		}
		let start = offset;
		tokens.forEach((token, i) => {
			if (from + i >= first) {
				const html = htmls[i] as string;
				const fragment = sanitizedFragment(html, options);
				renderMath(fragment);
				this.#decorate?.(fragment);
				const nodes = Array.from(fragment.childNodes);
				this.element.append(fragment);
				this.#blocks.push({ html, type: token.type, start, nodes });
			}
			start += token.raw.length;
		});
		// The lexer hands out exact sources (src/markdown/blocks.ts); should that ever
		// break, sources and offsets disagree and nothing is reused.
		this.#exact = start === text.length;
		this.#wrapSettled();
	}

	/** Group blocks that can no longer change into contained wrappers. */
	#wrapSettled(): void {
		const size = this.#chunkBlocks;
		// Blocks near the end may still be lexed again while streaming: leave them free.
		const settled = this.#blocks.length - 2 * OPEN_BLOCKS;
		while ((this.#chunks.length + 1) * size <= settled) {
			const chunk = document.createElement("div");
			chunk.className = "nbstream-chunk";
			const previous = this.#chunks.at(-1);
			this.element.insertBefore(chunk, previous ? previous.nextSibling : this.element.firstChild);
			const from = this.#chunks.length * size;
			for (const block of this.#blocks.slice(from, from + size)) chunk.append(...block.nodes);
			this.#chunks.push(chunk);
		}
	}

	/** Dissolve the wrappers holding block `index` and later ones, before those change. */
	#unwrapFrom(index: number): void {
		const keep = Math.floor(index / this.#chunkBlocks);
		for (const chunk of this.#chunks.splice(keep)) chunk.replaceWith(...chunk.childNodes);
	}

	/**
	 * How many leading blocks to keep without lexing them again: all but the last
	 * OPEN_BLOCKS non-blank ones. Zero (lex everything) unless the text only grew and
	 * cannot hold a reference definition, which could change any block.
	 */
	#reusableHead(text: string): number {
		if (!this.#exact || !text.startsWith(this.#text) || mayDefineLinks(text)) return 0;
		let open = 0;
		for (let i = this.#blocks.length - 1; i > 0; i--) {
			if ((this.#blocks[i] as Block).type !== "space" && ++open === OPEN_BLOCKS) return i;
		}
		return 0;
	}

	#placeCursor(): void {
		const cursor = document.createElement("span");
		cursor.className = "nbstream-cursor";
		cursor.setAttribute("aria-hidden", "true");
		const target = lastTextContainer(this.element);
		const last = target.lastChild;
		// Code text ends with a newline; the cursor belongs at the end of the last line.
		if (
			target.localName === "code" &&
			last?.nodeType === Node.TEXT_NODE &&
			(last as Text).data.endsWith("\n")
		) {
			const newline = (last as Text).splitText((last as Text).length - 1);
			target.insertBefore(cursor, newline);
		} else {
			target.append(cursor);
		}
		this.#cursor = cursor;
	}

	/** Take the cursor out and undo any text split, so kept blocks equal a fresh render. */
	#removeCursor(): void {
		const cursor = this.#cursor;
		if (!cursor) return;
		this.#cursor = null;
		const before = cursor.previousSibling;
		const after = cursor.nextSibling;
		cursor.remove();
		if (before?.nodeType === Node.TEXT_NODE && after?.nodeType === Node.TEXT_NODE) {
			(before as Text).appendData((after as Text).data);
			after.remove();
		}
	}
}

/** The innermost block at the end of `root` whose content ends with text. */
function lastTextContainer(root: Element): Element {
	let el = root;
	for (;;) {
		const last = lastMeaningfulChild(el);
		if (last?.nodeType !== Node.ELEMENT_NODE) return el;
		const child = last as Element;
		const descend =
			TEXT_CONTAINERS.has(child.localName) || (child.localName === "code" && el.localName === "pre");
		if (!descend) return el;
		el = child;
	}
}

/** Last child, skipping the whitespace-only text markdown.ts puts between blocks. */
function lastMeaningfulChild(el: Element): ChildNode | null {
	let node = el.lastChild;
	while (node && node.nodeType === Node.TEXT_NODE && !(node as Text).data.trim()) node = node.previousSibling;
	return node;
}
