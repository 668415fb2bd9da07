/**
 * Markdown → HTML string, with our own CommonMark + GFM parser (src/markdown/). Where
 * model output could smuggle in markup or fetch something, it is shown safely: raw
 * HTML as text, links only with safe URLs, images only when the user allows them.
 * The string it returns is still treated as untrusted: sanitize.ts checks the DOM.
 */
import { type Block, type BlockType, parseBlocks } from "./markdown/blocks";
import type { InlineContext } from "./markdown/inline";
import type { Refs } from "./markdown/refs";
import { renderBlock } from "./markdown/render";
import { escapeHtml, isSafeImageUrl } from "./url";

/** Rendering choices that the user, not the model, makes. */
export interface RenderOptions {
	/**
	 * Load images whose URL passes `isSafeImageUrl`. Off by default: a remote image
	 * tells its server that (and from where) the notebook was opened, and model output
	 * decides the URL (a tracking pixel).
	 */
	allowImages?: boolean;
}

/**
 * A top-level block of a text: its type, its exact source (the `raw`s of all tokens add
 * up to the text) and what it needs to render on its own, the whole text's link
 * definitions included. Blank lines between blocks are tokens of type "space".
 */
export interface Token {
	type: Exclude<BlockType, "document" | "item"> | "space";
	raw: string;
	block: Block | null;
	refs: Refs;
}

/**
 * How a markdown image is shown: loaded only when allowed and its URL is safe to fetch.
 *
 * @example
 * renderImage("https://x.org/a.png", "a") // '<span class="nbstream-image" title="image: https://x.org/a.png">🖼 a</span>'
 */
export function renderImage(href: string, alt: string, options: RenderOptions = {}): string {
	if (options.allowImages && isSafeImageUrl(href)) {
		// Lazy, and without a Referer: the image's server learns as little as possible.
		return `<img src="${escapeHtml(href)}" alt="${escapeHtml(alt)}" loading="lazy" referrerpolicy="no-referrer" decoding="async">`;
	}
	const title = href ? ` title="${escapeHtml(`image: ${href}`)}"` : "";
	return `<span class="nbstream-image"${title}>🖼\u00a0${escapeHtml(alt || "image")}</span>`;
}

/**
 * Split markdown into top-level block tokens.
 *
 * @example
 * lex("# Hi\n\ntext").map((t) => [t.type, t.raw]) // [["heading", "# Hi\n"], ["space", "\n"], ["paragraph", "text"]]
 */
export function lex(text: string): Token[] {
	const { root, refs, lines } = parseBlocks(text);
	const tokens: Token[] = [];
	let line = 0;
	const take = (type: Token["type"], to: number, b: Block | null): void => {
		if (to < line) return;
		tokens.push({ type, raw: lines.slice(line, to + 1).join(""), block: b, refs });
		line = to + 1;
	};
	for (const b of root.children) {
		take("space", b.start - 1, null);
		take(b.type as Token["type"], Math.max(b.end, line), b);
	}
	take("space", lines.length - 1, null);
	return tokens;
}

/**
 * Render block tokens to an HTML string (still untrusted). A token renders alone as it
 * does in its document: it carries the document's link definitions.
 *
 * @example
 * toHtml(lex("*hi*")) // "<p><em>hi</em></p>\n"
 */
export function toHtml(tokens: Token[], options: RenderOptions = {}): string {
	let html = "";
	for (const token of tokens) {
		if (!token.block) continue;
		const ctx: InlineContext = { refs: token.refs, image: (href, alt) => renderImage(href, alt, options) };
		html += renderBlock(token.block, ctx);
	}
	return html;
}

/**
 * One-shot markdown → HTML string (still untrusted).
 *
 * @example
 * markdownToHtml("<b>x</b>") // "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
 */
export function markdownToHtml(text: string, options: RenderOptions = {}): string {
	return toHtml(lex(text), options);
}
