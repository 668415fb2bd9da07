/**
 * Inline markdown → HTML: code spans, emphasis and strikethrough (CommonMark's delimiter
 * runs), links and images (inline and by reference), autolinks (also GFM's bare URLs
 * and emails), math, escapes, entities and line breaks.
 *
 * One left-to-right scan builds a list of pieces: escaped HTML strings, delimiter runs
 * whose tags are decided later, and bare URLs (plain text again inside a link's text, as
 * a link cannot hold another). Emphasis is resolved with CommonMark's "process
 * emphasis" procedure, kept linear with its per-kind lower bounds.
 *
 * Raw HTML is recognised (so markdown inside a tag stays literal) and shown escaped,
 * as text. Nothing from the source reaches the output unescaped.
 */
import { decodeEntities, escapeHtml, isSafeUrl } from "../url";
import { normalizeLabel, type Refs, scanDestination, scanLabel, scanTitle, skipSpace } from "./refs";

/** What inline rendering needs from outside: link definitions and how to show images. */
export interface InlineContext {
	refs: Refs;
	image: (href: string, alt: string) => string;
}

/** A run of `*`, `_` or `~`, and the tags it turned into. */
interface Delim {
	ch: string;
	count: number;
	/** The run's length before any of it matched (the "rule of 3"). */
	orig: number;
	canOpen: boolean;
	canClose: boolean;
	/** Tags opened after the literal rest, and closed before it. */
	opens: string;
	closes: string;
	prev: Delim | null;
	next: Delim | null;
}

/** A bare URL or autolink: its text alone inside another link's text. */
interface Url {
	html: string;
	text: string;
}

type Piece = string | Delim | Url;

interface Bracket {
	/** Index in the pieces of the `[` or `![`. */
	at: number;
	/** Source offset just after it (where the link text starts). */
	src: number;
	image: boolean;
	/** The last delimiter run before it: emphasis inside the link stops there. */
	bottom: Delim;
}

const PUNCTUATION = /[\p{P}\p{S}]/u;
const SPACE = /\s/u;
const ESCAPABLE = /[!-/:-@[-`{-~]/;
const ENTITY = /&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});/y;
/**
 * `$…$` and `$$…$$` (display). An unclosed formula, as while it streams, stays text.
 * Pandoc's rule keeps prices apart: no space just inside the dollars, and no digit
 * right after the closing one ("$5 and $10" is not math).
 */
const MATH = /(\$\$)([\s\S]+?)\$\$|\$(?!\s)((?:\\.|[^$\\\n])+?)(?<!\s)\$(?!\d)/y;
const AUTOLINK = /<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>/y;
const AUTO_EMAIL =
	/<([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>/y;
const TAG =
	/<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*\/?>|<\/[A-Za-z][A-Za-z0-9-]*\s*>|<!---?>/y;
/** Raw HTML whose end is found by search: comments, processing instructions, declarations, CDATA. */
const HTML_SPANS: readonly (readonly [string, string])[] = [
	["<!--", "-->"],
	["<?", "?>"],
	["<![CDATA[", "]]>"],
	["<!", ">"],
];
const BARE_URL = /(?:https?:\/\/|www\.)[A-Za-z0-9-]+[^\s<]*/y;
const EMAIL_DOMAIN = /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/y;
const EMAIL_LOCAL = /[A-Za-z0-9._+-]/;
/** Anything that could start markup (what the scan's cases look at). */
const MARKUP = /[\\\n`*_~![\]<&$@]|https?:|www\./;

/** Match a sticky regex at `at`. */
function stick(re: RegExp, src: string, at: number): RegExpExecArray | null {
	re.lastIndex = at;
	return re.exec(src);
}

/** Text with backslash escapes resolved and character references decoded (link parts). */
function literal(text: string): string {
	return decodeEntities(text.replace(/\\([!-/:-@[-`{-~])/g, "$1"));
}

/** A bare URL's end: without trailing punctuation, unbalanced `)` or a trailing entity. */
function trimUrl(url: string): string {
	for (;;) {
		const trimmed = url.replace(/[?!.,:*_~'"]+$/, "").replace(/&[A-Za-z0-9]+;$/, "");
		if (trimmed.endsWith(")")) {
			const open = trimmed.split("(").length;
			const close = trimmed.split(")").length;
			if (close > open) {
				url = trimmed.slice(0, -1);
				continue;
			}
		}
		if (trimmed === url) return url;
		url = trimmed;
	}
}

/**
 * Render inline markdown to HTML.
 *
 * @example
 * renderInline("**a** [b](https://x.org)", ctx) // '<strong>a</strong> <a href="https://x.org">b</a>'
 */
export function renderInline(src: string, ctx: InlineContext): string {
	src = src.replace(/\s+$/, "");
	// Most table cells and many lines are plain text: no need for the scan.
	if (!MARKUP.test(src)) return escapeHtml(src);
	const out: Piece[] = [];
	const head: Delim = {
		ch: "",
		count: 0,
		orig: 0,
		canOpen: false,
		canClose: false,
		opens: "",
		closes: "",
		prev: null,
		next: null,
	};
	let last = head;
	const brackets: Bracket[] = [];
	/** Link openers below this index are inactive: a link cannot hold another. */
	let barrier = 0;
	/** Searches known to fail from these offsets on (keeps unclosed markup linear). */
	const missing = new Map<string, number>();
	const find = (needle: string, from: number): number => {
		if (from >= (missing.get(needle) ?? Number.POSITIVE_INFINITY)) return -1;
		const at = src.indexOf(needle, from);
		if (at < 0) missing.set(needle, from);
		return at;
	};
	let text = 0; // start of the plain text not yet added
	const flush = (to: number): void => {
		if (to > text) out.push(escapeHtml(src.slice(text, to)));
	};
	let i = 0;
	/** Add `piece` for the source up to `end`. */
	const emit = (piece: Piece, end: number): void => {
		flush(i);
		out.push(piece);
		i = end;
		text = end;
	};
	while (i < src.length) {
		const ch = src[i] as string;
		switch (ch) {
			case "\\": {
				const next = src[i + 1] ?? "";
				if (next === "\n") emit("<br>", i + 2);
				else if (ESCAPABLE.test(next)) emit(escapeHtml(next), i + 2);
				else i++;
				continue;
			}
			case "\n": {
				// A soft break; two spaces or more before it make a hard one.
				let from = i;
				while (from > text && src[from - 1] === " ") from--;
				const hard = i - from >= 2;
				const was = i;
				i = from;
				let end = was + 1;
				while (src[end] === " " || src[end] === "\t") end++;
				emit(hard ? "<br>" : "\n", end);
				continue;
			}
			case "`": {
				let run = i;
				while (src[run] === "`") run++;
				const fence = src.slice(i, run);
				let close = find(fence, run);
				while (close >= 0 && src[close + fence.length] === "`") {
					let skip = close + fence.length;
					while (src[skip] === "`") skip++;
					close = find(fence, skip);
				}
				if (close < 0) {
					// Remember only exact-length misses: a longer run is no closer either.
					emit(escapeHtml(fence), run);
					continue;
				}
				let code = src.slice(run, close).replace(/\n/g, " ");
				if (/^ [\s\S]*[^ ][\s\S]* $/.test(code)) code = code.slice(1, -1);
				emit(`<code>${escapeHtml(code)}</code>`, close + fence.length);
				continue;
			}
			case "*":
			case "_":
			case "~": {
				let end = i;
				while (src[end] === ch) end++;
				const count = end - i;
				if (ch === "~" && count > 2) {
					i = end;
					continue;
				}
				const before = src[i - 1] ?? "\n";
				const after = src[end] ?? "\n";
				const left =
					!SPACE.test(after) && (!PUNCTUATION.test(after) || SPACE.test(before) || PUNCTUATION.test(before));
				const right =
					!SPACE.test(before) && (!PUNCTUATION.test(before) || SPACE.test(after) || PUNCTUATION.test(after));
				const underscore = ch === "_";
				const delim: Delim = {
					ch,
					count,
					orig: count,
					canOpen: left && (!underscore || !right || PUNCTUATION.test(before)),
					canClose: right && (!underscore || !left || PUNCTUATION.test(after)),
					opens: "",
					closes: "",
					prev: last,
					next: null,
				};
				last.next = delim;
				last = delim;
				emit(delim, end);
				continue;
			}
			case "!":
				if (src[i + 1] === "[") {
					emit("![", i + 2);
					brackets.push({ at: out.length - 1, src: i, image: true, bottom: last });
					continue;
				}
				i++;
				continue;
			case "[":
				emit("[", i + 1);
				brackets.push({ at: out.length - 1, src: i, image: false, bottom: last });
				continue;
			case "]": {
				const opener = brackets.pop();
				const inactive = !!opener && !opener.image && brackets.length < barrier;
				barrier = Math.min(barrier, brackets.length);
				if (!opener || inactive) {
					i++;
					continue;
				}
				const labelStart = opener.src;
				const link = linkAfter(src, i + 1, src.slice(labelStart, i), ctx.refs);
				if (!link) {
					i++;
					continue;
				}
				flush(i);
				processEmphasis(opener.bottom);
				opener.bottom.next = null;
				last = opener.bottom;
				const inner = out
					.splice(opener.at)
					.slice(1)
					.map((piece) => (typeof piece === "string" ? piece : "ch" in piece ? render(piece) : piece.text))
					.join("");
				let html: string;
				if (opener.image) {
					html = ctx.image(literal(link.href), src.slice(labelStart, i).replace(/\\([!-/:-@[-`{-~])/g, "$1"));
				} else {
					const url = literal(link.href);
					const title = link.title ? ` title="${escapeHtml(literal(link.title))}"` : "";
					html = isSafeUrl(url) ? `<a href="${escapeHtml(url)}"${title}>${inner}</a>` : inner;
					barrier = brackets.length;
				}
				out.push(html);
				i = link.end;
				text = i;
				continue;
			}
			case "<": {
				const auto = stick(AUTOLINK, src, i);
				const email = auto ? null : stick(AUTO_EMAIL, src, i);
				const target = auto ?? email;
				if (target) {
					const url = target[1] as string;
					emit(urlPiece(email ? `mailto:${url}` : url, url), i + target[0].length);
					continue;
				}
				const tag = stick(TAG, src, i);
				let end = tag ? i + tag[0].length : -1;
				for (const [open, close] of HTML_SPANS) {
					if (end >= 0) break;
					if (src.startsWith(open, i)) {
						const at = find(close, i + open.length);
						if (at >= 0) end = at + close.length;
					}
				}
				if (end >= 0) {
					// Raw HTML shows as the text it is.
					emit(escapeHtml(src.slice(i, end)), end);
					continue;
				}
				i++;
				continue;
			}
			case "&": {
				const entity = stick(ENTITY, src, i);
				// A character reference stays one: the browser decodes it, as text.
				if (entity) emit(entity[0], i + entity[0].length);
				else i++;
				continue;
			}
			case "$": {
				const math = stick(MATH, src, i);
				if (math) {
					const display = !!math[1];
					const cls = display ? "nbstream-math nbstream-math-block" : "nbstream-math";
					const body = (math[2] ?? math[3] ?? "").trim();
					emit(`<span class="${cls}">${escapeHtml(body)}</span>`, i + math[0].length);
					continue;
				}
				i++;
				continue;
			}
			case "@": {
				// An email address: its local part is the plain text just before.
				let start = i;
				while (start > text && EMAIL_LOCAL.test(src[start - 1] as string)) start--;
				const domain = start < i ? stick(EMAIL_DOMAIN, src, i + 1) : null;
				const host = domain ? domain[0].replace(/\.+$/, "") : "";
				if (domain && !/[-_]$/.test(host) && !/[A-Za-z0-9._+-]/.test(src[start - 1] ?? "")) {
					const address = src.slice(start, i + 1) + host;
					const at = i;
					i = start;
					emit(urlPiece(`mailto:${address}`, address), at + 1 + host.length);
					continue;
				}
				i++;
				continue;
			}
			case "h":
			case "w": {
				const before = src[i - 1] ?? " ";
				const bare = /[\s*_~(]/.test(before) ? stick(BARE_URL, src, i) : null;
				if (bare) {
					const url = trimUrl(bare[0]);
					if (url.includes(".") || url.startsWith("http")) {
						emit(urlPiece(url.startsWith("w") ? `http://${url}` : url, url), i + url.length);
						continue;
					}
				}
				i++;
				continue;
			}
			default:
				i++;
		}
	}
	flush(i);
	processEmphasis(head);
	return out
		.map((piece) => (typeof piece === "string" ? piece : "ch" in piece ? render(piece) : piece.html))
		.join("");
}

/** A link to `href` (already literal) showing `text`, unless the URL is not safe. */
function urlPiece(href: string, text: string): Url {
	const shown = escapeHtml(text);
	return { html: isSafeUrl(href) ? `<a href="${escapeHtml(href)}">${shown}</a>` : shown, text: shown };
}

/** A delimiter run as HTML: the tags it closes, what is left of it as text, the tags it opens. */
function render(delim: Delim): string {
	return delim.closes + escapeHtml(delim.ch.repeat(delim.count)) + delim.opens;
}

/** What follows a link's text `]`: an inline destination, or a reference to a definition. */
function linkAfter(
	src: string,
	from: number,
	label: string,
	refs: Refs,
): { href: string; title: string; end: number } | null {
	if (src[from] === "(") {
		let at = skipSpace(src, from + 1);
		let href = "";
		let title = "";
		if (src[at] !== ")") {
			const dest = scanDestination(src, at);
			if (dest) {
				href = dest.value;
				at = skipSpace(src, dest.end);
				if (at > dest.end) {
					const scanned = scanTitle(src, at);
					if (scanned) {
						title = scanned.value;
						at = skipSpace(src, scanned.end);
					}
				}
			} else at = -1;
		}
		if (at >= 0 && src[at] === ")") return { href, title, end: at + 1 };
	}
	// A reference: full `[text][label]`, collapsed `[text][]` or shortcut `[text]`.
	const full = scanLabel(src, from);
	let end = from;
	let key = label;
	if (full?.value.trim()) {
		key = full.value;
		end = full.end;
	} else if (full) end = full.end;
	if (key.length > 999 || /(?:^|[^\\])[[\]]/.test(key)) return null;
	const target = refs.get(normalizeLabel(key));
	return target ? { ...target, end } : null;
}

/** CommonMark's "process emphasis": pair the delimiter runs after `bottom` into tags. */
function processEmphasis(bottom: Delim): void {
	const floors = new Map<string, Delim>();
	let closer = bottom.next;
	while (closer) {
		if (!closer.canClose) {
			closer = closer.next;
			continue;
		}
		const key = `${closer.ch}${closer.canOpen ? 1 : 0}${closer.orig % 3}`;
		const floor = floors.get(key) ?? bottom;
		let opener = closer.prev;
		let found: Delim | null = null;
		while (opener && opener !== bottom && opener !== floor) {
			if (opener.ch === closer.ch && opener.canOpen) {
				const odd =
					(opener.canClose || closer.canOpen) &&
					(opener.orig + closer.orig) % 3 === 0 &&
					(opener.orig % 3 !== 0 || closer.orig % 3 !== 0);
				if (closer.ch === "~" ? opener.count === closer.count : !odd) {
					found = opener;
					break;
				}
			}
			opener = opener.prev;
		}
		if (!found) {
			floors.set(key, closer.prev ?? bottom);
			const next = closer.next;
			if (!closer.canOpen) unlink(closer);
			closer = next;
			continue;
		}
		const n = closer.ch === "~" ? closer.count : found.count >= 2 && closer.count >= 2 ? 2 : 1;
		const tag = closer.ch === "~" ? "del" : n === 2 ? "strong" : "em";
		found.count -= n;
		closer.count -= n;
		found.opens = `<${tag}>${found.opens}`;
		closer.closes += `</${tag}>`;
		// Runs between the two can no longer pair: they stay text.
		found.next = closer;
		closer.prev = found;
		if (!found.count) unlink(found);
		if (!closer.count) {
			const next = closer.next;
			unlink(closer);
			closer = next;
		}
	}
}

function unlink(delim: Delim): void {
	if (delim.prev) delim.prev.next = delim.next;
	if (delim.next) delim.next.prev = delim.prev;
}
