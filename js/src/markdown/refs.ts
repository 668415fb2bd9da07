/**
 * Link parts shared by inline links and reference definitions: labels, destinations and
 * titles (CommonMark 4.7 and 6.3), and the definitions themselves.
 */

/** A link target: destination and title, both still with backslash escapes and entities. */
export interface Target {
	href: string;
	title: string;
}

/** Reference definitions by normalized label. The first definition of a label wins. */
export type Refs = Map<string, Target>;

/**
 * The form labels are matched in: case-folded, inner whitespace collapsed.
 *
 * @example
 * normalizeLabel("  The  Docs ") // "THE DOCS"
 */
export function normalizeLabel(label: string): string {
	return label.trim().replace(/\s+/g, " ").toLowerCase().toUpperCase();
}

/** A scan result: the value and the offset just after it. */
export interface Scanned {
	value: string;
	end: number;
}

/**
 * A link label `[…]` at `from` (no unescaped brackets inside, at most 999 characters).
 *
 * @example
 * scanLabel("[a\\]b] c", 0) // { value: "a\\]b", end: 6 }
 */
export function scanLabel(src: string, from: number): Scanned | null {
	if (src[from] !== "[") return null;
	const limit = Math.min(src.length, from + 1001);
	for (let i = from + 1; i < limit; i++) {
		const ch = src[i];
		if (ch === "\\") i++;
		else if (ch === "[") return null;
		else if (ch === "]") return { value: src.slice(from + 1, i), end: i + 1 };
	}
	return null;
}

/**
 * A link destination at `from`: `<…>` (no line break or unescaped `<`, `>`), or a run
 * without spaces or control characters whose parentheses balance.
 *
 * @example
 * scanDestination("a(b)c d", 0) // { value: "a(b)c", end: 5 }
 */
export function scanDestination(src: string, from: number): Scanned | null {
	if (src[from] === "<") {
		for (let i = from + 1; i < src.length; i++) {
			const ch = src[i];
			if (ch === "\\") i++;
			else if (ch === ">") return { value: src.slice(from + 1, i), end: i + 1 };
			else if (ch === "<" || ch === "\n") return null;
		}
		return null;
	}
	let depth = 0;
	let i = from;
	for (; i < src.length; i++) {
		const ch = src[i] as string;
		if (ch === "\\" && /[!-/:-@[-`{-~]/.test(src[i + 1] ?? "")) i++;
		else if (ch === "(") {
			if (++depth > 32) return null;
		} else if (ch === ")") {
			if (depth === 0) break;
			depth--;
		} else if (ch <= " ") break;
	}
	if (depth !== 0 || i === from) return null;
	return { value: src.slice(from, i), end: i };
}

/**
 * A link title at `from`: `"…"`, `'…'` or `(…)`, with no blank line inside.
 *
 * @example
 * scanTitle('"a \\" b" x', 0) // { value: 'a \\" b', end: 8 }
 */
export function scanTitle(src: string, from: number): Scanned | null {
	const open = src[from];
	const close = open === "(" ? ")" : open;
	if (open !== '"' && open !== "'" && open !== "(") return null;
	for (let i = from + 1; i < src.length; i++) {
		const ch = src[i];
		if (ch === "\\") i++;
		else if (ch === close) return { value: src.slice(from + 1, i), end: i + 1 };
		else if (ch === "(" && open === "(") return null;
		else if (ch === "\n" && /^\n[ \t]*(?:\n|$)/.test(src.slice(i, i + 80))) return null;
	}
	return null;
}

/** Offset after spaces, tabs and at most one line break from `from`. */
export function skipSpace(src: string, from: number): number {
	let i = from;
	let newline = false;
	for (; i < src.length; i++) {
		const ch = src[i];
		if (ch === "\n") {
			if (newline) break;
			newline = true;
		} else if (ch !== " " && ch !== "\t") break;
	}
	return i;
}

const LINE_END = /[ \t]*(?:\n|$)/y;

/** Offset after the line break if only spaces follow `from` on its line, else -1. */
function lineEnd(text: string, from: number): number {
	LINE_END.lastIndex = from;
	return LINE_END.test(text) ? LINE_END.lastIndex : -1;
}

/**
 * Take the reference definitions off the start of a paragraph's text into `refs`.
 * Returns the text left, or null when the paragraph was definitions only.
 *
 * @example
 * parseDefinitions("[a]: /u 'T'\nrest", refs) // "rest", and refs has "A" → /u, T
 */
export function parseDefinitions(text: string, refs: Refs): string | null {
	let at = 0;
	while (text[at] === "[") {
		const label = scanLabel(text, at);
		if (!label || text[label.end] !== ":" || !label.value.trim()) break;
		const destStart = skipSpace(text, label.end + 1);
		const dest = scanDestination(text, destStart);
		if (!dest || (dest.value === "" && text[destStart] !== "<")) break;
		// A title must be set off by whitespace, and nothing but spaces may follow it.
		let end = -1;
		let title = "";
		const titleStart = skipSpace(text, dest.end);
		const scanned = titleStart > dest.end ? scanTitle(text, titleStart) : null;
		if (scanned) {
			end = lineEnd(text, scanned.end);
			if (end >= 0) title = scanned.value;
		}
		if (end < 0) end = lineEnd(text, dest.end);
		if (end < 0) break;
		const key = normalizeLabel(label.value);
		if (!refs.has(key)) refs.set(key, { href: dest.value, title });
		at = end;
	}
	const rest = text.slice(at);
	return rest.trim() ? rest : at ? null : rest;
}
