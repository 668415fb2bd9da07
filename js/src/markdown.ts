/**
 * Markdown → HTML string, with marked (GFM). The renderer is overridden where model
 * output could smuggle in markup or fetch something: raw HTML, links and images
 * (loaded only when the user allows images).
 * The string it returns is still treated as untrusted: sanitize.ts checks the DOM.
 */
import { Marked, type Token, type TokenizerAndRendererExtension, type Tokens, type TokensList } from "marked";
import { highlight } from "./highlight";
import { decodeEntities, escapeHtml, isSafeImageUrl, isSafeUrl } from "./url";

/** Rendering choices that the user, not the model, makes. */
export interface RenderOptions {
	/**
	 * Load images whose URL passes `isSafeImageUrl`. Off by default: a remote image
	 * tells its server that (and from where) the notebook was opened, and model output
	 * decides the URL (a tracking pixel).
	 */
	allowImages?: boolean;
}

/** How a markdown image is shown: loaded only when allowed and its URL is safe to fetch. */
export function renderImage(href: string, alt: string, options: RenderOptions = {}): string {
	if (options.allowImages && isSafeImageUrl(href)) {
		// Lazy, and without a Referer: the image's server learns as little as possible.
		return `<img src="${escapeHtml(href)}" alt="${escapeHtml(alt)}" loading="lazy" referrerpolicy="no-referrer" decoding="async">`;
	}
	const title = href ? ` title="${escapeHtml(`image: ${href}`)}"` : "";
	return `<span class="nbstream-image"${title}>🖼\u00a0${escapeHtml(alt || "image")}</span>`;
}

/**
 * `$…$` and `$$…$$` (display). An unclosed formula, as while it streams, stays text.
 * Pandoc's rule keeps prices apart: no space just inside the dollars, and no digit
 * right after the closing one ("$5 and $10" is not math).
 */
const MATH = /^(\$\$)([\s\S]+?)\$\$|^\$(?!\s)((?:\\.|[^$\\\n])+?)(?<!\s)\$(?!\d)/;

const math: TokenizerAndRendererExtension = {
	name: "math",
	level: "inline",
	start: (src: string) => src.indexOf("$"),
	tokenizer(src: string) {
		const match = MATH.exec(src);
		if (!match) return undefined;
		return { type: "math", raw: match[0], text: (match[2] ?? match[3] ?? "").trim(), display: !!match[1] };
	},
	renderer(token: Tokens.Generic): string {
		// Text for now: math.ts builds the MathML after sanitizing, from this text.
		const cls = token.display ? "nbstream-math nbstream-math-block" : "nbstream-math";
		return `<span class="${cls}">${escapeHtml(String(token.text))}</span>`;
	},
};

/** A marked instance for one set of options; the options only change how tokens render. */
function createMarked(options: RenderOptions): Marked {
	return new Marked({
		extensions: [math],
		gfm: true,
		async: false,
		renderer: {
			// Raw HTML in model output is shown as the text it is, never as markup.
			html({ text, block }: Tokens.HTML | Tokens.Tag): string {
				return block ? `<p>${escapeHtml(text.trim())}</p>\n` : escapeHtml(text);
			},
			link({ href, title, tokens, autolink }: Tokens.Link): string {
				const inner = this.parser.parseInline(tokens);
				// Autolinks are literal; other destinations may contain character references.
				const url = autolink ? href : decodeEntities(href);
				if (!isSafeUrl(url)) return inner;
				const titleAttr = title ? ` title="${escapeHtml(title)}"` : "";
				return `<a href="${escapeHtml(url)}"${titleAttr}>${inner}</a>`;
			},
			image({ href, text }: Tokens.Image): string {
				return renderImage(decodeEntities(href), text, options);
			},
			// Fenced code is highlighted (highlight.ts escapes everything it returns).
			code({ text, lang }: Tokens.Code): string {
				const language = /^\S*/.exec(lang ?? "")?.[0] ?? "";
				const cls = language ? ` class="language-${escapeHtml(language)}"` : "";
				// The closing newline stays outside every token: the cursor goes before it.
				return `<pre><code${cls}>${highlight(text.replace(/\n$/, ""), language)}\n</code></pre>\n`;
			},
		},
	});
}

// Two fixed instances rather than one per view: building a Marked is not free, and
// there are only two ways to render.
const blocked = createMarked({ allowImages: false });
const allowed = createMarked({ allowImages: true });

/** Split markdown into top-level block tokens (plus the reference-link map). */
export function lex(text: string): TokensList {
	// Lexing does not depend on the render options.
	return blocked.lexer(text);
}

/** Render block tokens to an HTML string (still untrusted). */
export function toHtml(tokens: Token[], options: RenderOptions = {}): string {
	return (options.allowImages ? allowed : blocked).parser(tokens);
}

/** One-shot markdown → HTML string (still untrusted). */
export function markdownToHtml(text: string, options: RenderOptions = {}): string {
	return toHtml(lex(text), options);
}
