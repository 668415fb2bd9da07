/**
 * Markdown → HTML string, with marked (GFM). The renderer is overridden where model
 * output could smuggle in markup or fetch something: raw HTML, links and images.
 * The string it returns is still treated as untrusted: sanitize.ts checks the DOM.
 */
import { Marked, type Token, type Tokens, type TokensList } from "marked";
import { decodeEntities, escapeHtml, isSafeUrl } from "./url";

/** How a markdown image is shown. The single place to change when images become opt-in. */
export function renderImage(href: string, alt: string): string {
	// Never fetched: a remote image leaks that the notebook was opened (and from where),
	// and model output decides the URL.
	const title = href ? ` title="${escapeHtml(`image: ${href}`)}"` : "";
	return `<span class="nbstream-image"${title}>🖼\u00a0${escapeHtml(alt || "image")}</span>`;
}

const marked = new Marked({
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
			return renderImage(decodeEntities(href), text);
		},
	},
});

/** Split markdown into top-level block tokens (plus the reference-link map). */
export function lex(text: string): TokensList {
	return marked.lexer(text);
}

/** Render block tokens to an HTML string (still untrusted). */
export function toHtml(tokens: Token[]): string {
	return marked.parser(tokens);
}

/** One-shot markdown → HTML string (still untrusted). */
export function markdownToHtml(text: string): string {
	return toHtml(lex(text));
}
