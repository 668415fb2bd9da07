/**
 * Repairs the open tail of a streaming answer, so it shows formatted as it grows instead
 * of flipping from raw markup (`**bold`, `` `code``, `[a link](http…`) to formatted
 * text when the closing marker arrives.
 *
 * Only the last block is repaired, and only while the answer streams: at rest the view
 * renders the text as it is (markdown-view.ts), so the final render never changes.
 * The repair closes what is open, in the order it opened (emphasis, strikethrough,
 * inline code), shows a link whose URL is still arriving as its text alone, drops an
 * image whose URL is still arriving, and gives a table whose header row has arrived the
 * delimiter row it is waiting for. Fenced code needs nothing: the parser already renders
 * an open fence as code.
 */

/** Block types whose text can hold an open inline construct at its end. */
const INLINE_BLOCKS = new Set(["paragraph", "heading", "list", "blockquote", "text", "table"]);

/** A delimiter that opens and later closes: emphasis, strikethrough, inline code. */
interface Opener {
	marker: string;
	/** Offset of the marker in the text. */
	at: number;
}

/**
 * The block's source as it should render while it streams (`raw` itself when nothing
 * is open).
 *
 * @example
 * repairBlock("Some **bold", "paragraph") // "Some **bold**"
 * repairBlock("See [the docs](https://exa", "paragraph") // "See the docs"
 */
export function repairBlock(raw: string, type: string): string {
	// Fenced code (on its own, or open inside a list or quote): the parser shows it as code
	// already; only a closing fence still arriving would show as a stray backtick.
	if (type === "code" || (raw.match(FENCE) ?? []).length % 2 === 1) {
		return raw.replace(/\n[ \t>]*(?:`{1,2}|~{1,2})$/, "\n");
	}
	if (!INLINE_BLOCKS.has(type)) return raw;
	const table = repairTableHeader(raw);
	if (table !== raw) return table;
	let text = dropUnfinishedLine(raw, type);
	// `[text][ref` becomes `[text]`, then `text`.
	for (let previous = ""; previous !== text; ) {
		previous = text;
		text = dropOpenLinkOrImage(text);
	}
	return closeInline(text);
}

const FENCE = /(?:^|\n)[ \t>]*(?:```|~~~)/g;

/**
 * A last line that is only the start of something whose markers the final render
 * hides: a table row before its header is complete (`| Name | Jo`), a thematic break
 * (`* *`), a lone marker (`~`). It shows once it can show as what it is.
 */
function dropUnfinishedLine(block: string, type: string): string {
	// A block's source ends with its line break (src/markdown/blocks.ts).
	const raw = block.replace(/[ \t]*\n$/, "");
	const line = raw.lastIndexOf("\n") + 1;
	const last = raw.slice(line);
	const row = type === "paragraph" && /^ {0,3}\|/.test(last);
	if (row || /^[ \t>]*[*_](?:[ \t]*[*_])?[ \t]*$/.test(last)) {
		return raw.slice(0, line).replace(/\n$/, "");
	}
	// A task item's box (`- [x]`) shows as a checkbox once its text begins.
	const task = /^([ \t>]*(?:[-*+]|\d+[.)])[ \t]+)\[[ xX]?\]?[ \t]*$/.exec(last);
	if (task) return raw.slice(0, line) + (task[1] as string);
	const tilde = raw.replace(/(^|[^~\\])~$/, "$1");
	return tilde === raw ? block : tilde;
}

/**
 * A header row (`| a | b |` and its line break) followed by nothing yet, or by a
 * delimiter row still arriving (`| --- | -`): the full delimiter row, so it renders as
 * the table it becomes.
 */
function repairTableHeader(raw: string): string {
	const match = /(^|\n)( {0,3}\|[^\n]*\|[ \t]*)\n( {0,3}\|?[ \t:|-]*)$/.exec(raw);
	if (!match) return raw;
	const header = match[2] as string;
	const delimiter = (match[3] as string).trim();
	// What arrived of the delimiter row must be able to become one.
	if (delimiter && !/^\|?[ \t]*:?-*:?[ \t]*(\|[ \t]*:?-*:?[ \t]*)*\|?$/.test(delimiter)) return raw;
	const head = raw.slice(0, match.index + (match[1] as string).length);
	return `${head}${header}\n|${" --- |".repeat(splitRow(header).length)}\n`;
}

/** The cells of a table row, its outer pipes dropped. */
function splitRow(row: string): string[] {
	const inner = row
		.trim()
		.replace(/^\|/, "")
		.replace(/(?<!\\)\|$/, "");
	return inner.split(/(?<!\\)\|/);
}

/**
 * A link or image at the very end whose text or URL is still arriving. A link shows
 * its text, not yet clickable (never the partial URL); an image shows nothing yet.
 */
function dropOpenLinkOrImage(block: string): string {
	const raw = block.replace(/\s+$/, "");
	const open = lastOpenBracket(raw);
	if (open < 0) return block;
	// `[text][ref`: the reference goes, then `[text]` is still arriving too.
	if (raw[open - 1] === "]" && /^[^\]\n]*\]?$/.test(raw.slice(open + 1))) return raw.slice(0, open);
	const image = open > 0 && raw[open - 1] === "!" && raw[open - 2] !== "\\";
	const start = image ? open - 1 : open;
	const rest = raw.slice(open + 1);
	// `[text`, `[text]`, `[text](partial`: still arriving. `[text](url)` is closed, and
	// `[text] more` is literal brackets.
	const shape = /^([^\]\n]*)(\](\([^)\n]*)?)?$/.exec(rest);
	if (!shape) return block;
	if (image) return raw.slice(0, start).replace(/[ \t]+$/, "");
	return raw.slice(0, start) + (shape[1] as string);
}

/** Offset of the last unescaped `[` outside code spans, or -1. */
function lastOpenBracket(raw: string): number {
	let last = -1;
	scan(raw, (char, at) => {
		if (char === "[") last = at;
	});
	return last;
}

/**
 * Calls `visit` with every character outside code spans and escapes; returns the
 * backtick run of a code span still open at the end ("" if none).
 */
function scan(raw: string, visit: (char: string, at: number) => void): { code: string; at: number } {
	let i = 0;
	while (i < raw.length) {
		const char = raw[i] as string;
		if (char === "\\") {
			i += 2;
			continue;
		}
		if (char === "`") {
			let run = 1;
			while (raw[i + run] === "`") run++;
			const fence = "`".repeat(run);
			const close = findRun(raw, fence, i + run);
			if (close < 0) return { code: fence, at: i };
			i = close + run;
			continue;
		}
		visit(char, i);
		i++;
	}
	return { code: "", at: -1 };
}

/** The next backtick run of exactly `fence`'s length from `from`, or -1. */
function findRun(raw: string, fence: string, from: number): number {
	let at = raw.indexOf(fence, from);
	while (at >= 0) {
		let end = at + fence.length;
		if (raw[end] !== "`" && raw[at - 1] !== "`") return at;
		while (raw[end] === "`") end++;
		at = raw.indexOf(fence, end);
	}
	return -1;
}

/** Emphasis, strikethrough and code spans left open at the end, closed in order. */
function closeInline(raw: string): string {
	const openers: Opener[] = [];
	let skipUntil = -1;
	const code = scan(raw, (char, at) => {
		if (at < skipUntil || (char !== "*" && char !== "_" && char !== "~")) return;
		let end = at;
		while (raw[end] === char) end++;
		skipUntil = end;
		const run = end - at;
		const before = raw[at - 1] ?? "\n";
		const after = raw[end] ?? "";
		if (char === "~" && run !== 2) return;
		// A list bullet or a thematic break, not emphasis.
		if (char !== "~" && atLineStart(raw, at) && (after === "" || /\s/.test(after))) return;
		// Intraword markers (snake_case, 2*3) are taken as text here.
		if (char !== "~" && WORD.test(before) && WORD.test(after)) return;
		const marker = char.repeat(Math.min(run, 3));
		const top = openers.at(-1);
		if (top?.marker === marker && !/\s/.test(before)) openers.pop();
		else if (!/\s/.test(after)) openers.push({ marker, at });
	});
	let text = raw;
	let closers = "";
	if (code.code) {
		// Code is innermost: whatever opened before it closes after it.
		// Backticks at the end are the closer arriving: they make way for the whole one.
		const content = text.slice(code.at + code.code.length).replace(/`+$/, "");
		if (content.trim()) {
			text = text.slice(0, code.at + code.code.length) + content;
			closers = (content.endsWith("`") ? " " : "") + code.code;
		} else text = text.slice(0, code.at).replace(/[ \t]+$/, "");
	}
	let tail = "";
	if (!closers) {
		// A closer must follow a non-space to close: it goes before trailing spaces.
		const trimmed = text.replace(/\s+$/, "");
		tail = text.slice(trimmed.length);
		text = trimmed;
	}
	for (const opener of openers.reverse()) {
		const content = text.slice(opener.at + opener.marker.length);
		if (content.trim()) {
			closers += opener.marker;
		} else {
			// A marker with nothing after it yet shows nothing, rather than itself.
			text = text.slice(0, opener.at).replace(/[ \t]+$/, "");
		}
	}
	return text + closers + (closers ? "" : tail);
}

const WORD = /[\p{L}\p{N}]/u;

/** Whether only indentation and quote markers precede offset `at` on its line. */
function atLineStart(raw: string, at: number): boolean {
	const line = raw.lastIndexOf("\n", at - 1) + 1;
	return /^[ \t>]*$/.test(raw.slice(line, at));
}
