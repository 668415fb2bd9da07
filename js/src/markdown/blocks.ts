/**
 * Block structure of markdown (CommonMark with GFM tables), parsed line by line the way
 * the CommonMark spec's "parsing strategy" appendix describes: each line first continues
 * the open containers (block quotes, list items) it can, then may open new blocks, and
 * what is left goes into the open leaf (paragraph, code, HTML, table).
 *
 * Every block remembers the first and last source line it took, so the document's
 * top-level blocks can hand out their exact source (`raw`): the view relies on those
 * adding up to the text.
 */
import { parseDefinitions, type Refs } from "./refs";

export type BlockType =
	| "document"
	| "blockquote"
	| "list"
	| "item"
	| "paragraph"
	| "heading"
	| "hr"
	| "code"
	| "html"
	| "table"
	| "def";

/** A node of the block tree. One shape for all types keeps the parser small. */
export interface Block {
	type: BlockType;
	children: Block[];
	parent: Block | null;
	open: boolean;
	/** First and last source line (0-based) that belong to the block. */
	start: number;
	end: number;
	/** Content lines (leaves), container prefixes already stripped. */
	lines: string[];
	/** Heading level; for HTML blocks, which of the spec's 7 start conditions opened it. */
	level: number;
	/** Lists: ordered, start number, marker (bullet char or `.`/`)`), tight or loose. */
	ordered: boolean;
	first: number;
	marker: string;
	loose: boolean;
	/** Items: the content column. Fenced code: the fence's own indentation. */
	indent: number;
	/** Code: the fence (empty for indented code) and the info string. */
	fence: string;
	info: string;
	/** Tables: column alignments and the cell texts, header row first. */
	align: string[];
	rows: string[][];
	/** How many containers it is inside. */
	depth: number;
}

function block(type: BlockType, start: number, parent: Block | null): Block {
	return {
		type,
		children: [],
		parent,
		open: true,
		start,
		end: start,
		lines: [],
		level: 0,
		ordered: false,
		first: 1,
		marker: "",
		loose: false,
		indent: 0,
		fence: "",
		info: "",
		align: [],
		rows: [],
		depth: parent ? parent.depth + 1 : 0,
	};
}

/** A position in one line, counting columns so tabs indent to multiples of 4. */
class Cursor {
	pos = 0;
	col = 0;
	/** Columns of a tab already passed that are not consumed yet. */
	virt = 0;
	/** Where the line's trailing whitespace starts: the rest is blank from there on. */
	readonly end: number;
	/**
	 * Offset after the last character that cannot be in a thematic break: a break can
	 * only start after it. Checked once per line, not once per nesting level.
	 */
	readonly breakFrom: number;
	constructor(readonly line: string) {
		this.end = line.trimEnd().length;
		const other = /[^ \t*_-][ \t*_-]*$/.exec(line);
		this.breakFrom = other ? other.index + 1 : 0;
	}

	/** Whether only whitespace is left. */
	blank(): boolean {
		return this.pos >= this.end;
	}

	/** Columns of whitespace from here, and the offset of the next other character. */
	peek(): { indent: number; next: number } {
		let col = this.col;
		let indent = this.virt;
		let i = this.pos;
		for (; i < this.line.length; i++) {
			const ch = this.line[i];
			if (ch === " ") {
				col++;
				indent++;
			} else if (ch === "\t") {
				const width = 4 - (col % 4);
				col += width;
				indent += width;
			} else break;
		}
		return { indent, next: i };
	}

	/** Consume `n` columns (splitting a tab if need be). */
	advance(n: number): void {
		while (n > 0) {
			if (this.virt > 0) {
				const take = Math.min(this.virt, n);
				this.virt -= take;
				n -= take;
			} else if (this.pos >= this.line.length) {
				return;
			} else if (this.line[this.pos] === "\t") {
				const width = 4 - (this.col % 4);
				this.pos++;
				this.col += width;
				if (width > n) this.virt = width - n;
				n -= Math.min(width, n);
			} else {
				this.pos++;
				this.col++;
				n--;
			}
		}
	}

	/** Consume whitespace up to the next other character. */
	skipSpace(): void {
		this.advance(this.peek().indent);
	}

	rest(): string {
		return " ".repeat(this.virt) + this.line.slice(this.pos);
	}
}

const ATX = /^#{1,6}(?=[ \t]|$)/;
const FENCE_OPEN = /^(?:`{3,}(?=[^`]*$)|~{3,})/;
const SETEXT = /^(?:=+|-+)[ \t]*$/;
/**
 * Containers nest at most this deep; deeper markers are text. Rendering recurses
 * through the tree, and `> > > …` a thousand times deep must not exhaust the stack.
 */
const MAX_DEPTH = 64;
const HR = /^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const BULLET = /[*+-]/y;
const ORDERED = /(\d{1,9})([.)])/y;
const DELIMITER_ROW = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

/** HTML block start conditions 1–7 (CommonMark 4.6), and what ends 1–5. */
const HTML_STARTS = [
	/^<(?:script|pre|style|textarea)(?:[ \t>]|$)/i,
	/^<!--/,
	/^<\?/,
	/^<![A-Za-z]/,
	/^<!\[CDATA\[/,
	/^<\/?(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul)(?:[ \t]|\/?>|$)/i,
	/^(?:<[A-Za-z][A-Za-z0-9-]*(?:[ \t]+[A-Za-z_:][\w.:-]*(?:[ \t]*=[ \t]*(?:[^ \t"'=<>`]+|'[^']*'|"[^"]*"))?)*[ \t]*\/?>|<\/[A-Za-z][A-Za-z0-9-]*[ \t]*>)[ \t]*$/,
];
const HTML_ENDS = [/<\/(?:script|pre|style|textarea)>/i, /-->/, /\?>/, />/, /\]\]>/];

/**
 * Cells of a table row: split at pipes that are not escaped, outer pipes dropped.
 * `\|` stays escaped here; the inline parser reads it as a literal pipe.
 *
 * @example
 * splitCells("| a | b \\| c |") // ["a", "b \\| c"]
 */
export function splitCells(row: string): string[] {
	let text = row.trim();
	if (text.startsWith("|")) text = text.slice(1);
	if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
	const cells: string[] = [];
	let cell = "";
	for (let i = 0; i < text.length; i++) {
		const ch = text[i] as string;
		if (ch === "\\" && text[i + 1] === "|") {
			cell += "\\|";
			i++;
		} else if (ch === "|") {
			cells.push(cell.trim());
			cell = "";
		} else cell += ch;
	}
	cells.push(cell.trim());
	return cells;
}

/** Whether a block of this type may hold a child of that type. */
function canContain(parent: BlockType, child: BlockType): boolean {
	if (parent === "list") return child === "item";
	return (parent === "document" || parent === "blockquote" || parent === "item") && child !== "item";
}

/** The parse of a whole text: the block tree and the link definitions found in it. */
export interface Parsed {
	root: Block;
	refs: Refs;
	/** The source lines, each with its own line ending. */
	lines: string[];
}

/**
 * Parse `text` into a block tree.
 *
 * @example
 * parseBlocks("# Hi\n\n- a\n- b").root.children.map((b) => b.type) // ["heading", "list"]
 */
export function parseBlocks(text: string): Parsed {
	const lines = text.match(/[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$/g) ?? [];
	const refs: Refs = new Map();
	const root = block("document", 0, null);
	let tip = root;

	const finalize = (b: Block): void => {
		b.open = false;
		if (b.type === "paragraph") {
			const rest = parseDefinitions(b.lines.join("\n"), refs);
			if (rest === null) b.type = "def";
			else b.lines = rest.split("\n");
		} else if (b.type === "code" && !b.fence) {
			while (b.lines.length && !(b.lines.at(-1) as string).trim()) b.lines.pop();
		} else if (b.type === "list") {
			b.loose = b.children.some(
				(item, i) =>
					(i < b.children.length - 1 && endsWithBlank(item, b.children[i + 1] as Block)) ||
					item.children.some(
						(child, j) => j < item.children.length - 1 && endsWithBlank(child, item.children[j + 1] as Block),
					),
			);
		}
		tip = b.parent ?? root;
	};

	const add = (type: BlockType, line: number): Block => {
		while (!canContain(tip.type, type)) finalize(tip);
		const child = block(type, line, tip);
		tip.children.push(child);
		tip = child;
		return child;
	};

	lines.forEach((source, li) => {
		const c = new Cursor(source.replace(/\r?\n$|\r$/, ""));
		/** Whether the source line is blank (then it belongs to no block but fenced code). */
		const empty = !c.line.trim();
		let container: Block = root;
		let allMatched = true;
		// 1. Continue the open blocks this line can continue.
		for (let last = container.children.at(-1); last?.open; last = container.children.at(-1)) {
			const result = continues(last, c, c.blank());
			if (result === 1) {
				allMatched = false;
				break;
			}
			container = last;
			if (result === 2) {
				// A closing fence: the line is used up.
				markEnd(container, li);
				return;
			}
		}
		const lastMatched = container;
		let closed = false;
		const closeUnmatched = (): void => {
			if (closed) return;
			closed = true;
			while (tip !== lastMatched && tip !== root) finalize(tip);
		};
		/** A block that takes the whole line and nothing after it. */
		const whole = (b: Block): void => {
			finalize(b);
			markEnd(b, li);
		};
		// 2. Open new blocks.
		const leaf = container.type === "code" || container.type === "html";
		while (!leaf) {
			const blank = c.blank();
			const { indent, next } = c.peek();
			const ch = c.line[next] ?? "";
			// Sliced only where a block could start: a line nested 1,000 deep is not copied 1,000 times.
			const rest =
				ch === "#" || ch === "`" || ch === "~" || ch === "<" || container.type === "paragraph"
					? c.line.slice(next)
					: "";
			const paragraphTip = tip.type === "paragraph";
			if (indent >= 4) {
				// Indented code cannot interrupt a paragraph (nor a table: it is a row there).
				if (paragraphTip || blank || tip.type === "table") break;
				c.advance(4);
				closeUnmatched();
				add("code", li);
				break;
			}
			const nest = container.depth < MAX_DEPTH;
			if (ch === ">" && nest) {
				c.skipSpace();
				c.advance(1);
				if (c.line[c.pos] === " " || c.line[c.pos] === "\t") c.advance(1);
				closeUnmatched();
				container = add("blockquote", li);
				continue;
			}
			const atx = ch === "#" ? ATX.exec(rest) : null;
			if (atx) {
				closeUnmatched();
				const h = add("heading", li);
				h.level = atx[0].length;
				h.lines = [
					rest
						.slice(atx[0].length)
						.replace(/(?:^|[ \t]+)#+[ \t]*$/, "")
						.trim(),
				];
				whole(h);
				return;
			}
			const fence = ch === "`" || ch === "~" ? FENCE_OPEN.exec(rest) : null;
			if (fence) {
				closeUnmatched();
				const code = add("code", li);
				code.fence = fence[0];
				code.indent = indent;
				code.info = rest.slice(fence[0].length).trim();
				markEnd(code, li);
				return;
			}
			if (ch === "<") {
				const kind = HTML_STARTS.findIndex((re) => re.test(rest)) + 1;
				// The 7th (any lone tag) cannot interrupt a paragraph, lazy or not.
				if (kind > 0 && (kind < 7 || !paragraphTip)) {
					closeUnmatched();
					add("html", li).level = kind;
					break;
				}
			}
			if (container.type === "paragraph" && allMatched) {
				const paragraph = container;
				const parent = paragraph.parent as Block;
				const header = paragraph.lines.at(-1) as string;
				if (rest.includes("|") && header.includes("|") && DELIMITER_ROW.test(rest)) {
					const align = splitCells(rest).map((cell) =>
						cell.endsWith(":")
							? cell.startsWith(":")
								? "center"
								: "right"
							: cell.startsWith(":")
								? "left"
								: "",
					);
					const cells = splitCells(header);
					if (cells.length === align.length) {
						// The paragraph's last line is the header; lines before it stay a paragraph.
						const table = block("table", Math.max(paragraph.start, li - 1), parent);
						table.align = align;
						table.rows = [cells];
						paragraph.lines.pop();
						if (paragraph.lines.length) {
							finalize(paragraph);
							paragraph.end = table.start - 1;
							parent.children.push(table);
						} else parent.children[parent.children.length - 1] = table;
						tip = table;
						markEnd(table, li);
						return;
					}
				}
				if (SETEXT.test(rest)) {
					const content = parseDefinitions(paragraph.lines.join("\n"), refs);
					if (content !== null) {
						paragraph.type = "heading";
						paragraph.level = ch === "=" ? 1 : 2;
						paragraph.lines = [content.trim()];
						whole(paragraph);
						return;
					}
				}
			}
			if ((ch === "*" || ch === "-" || ch === "_") && next >= c.breakFrom && HR.test(c.line.slice(next))) {
				closeUnmatched();
				whole(add("hr", li));
				return;
			}
			const item = nest ? listMarker(c, container, paragraphTip && !blank) : null;
			if (item) {
				closeUnmatched();
				const list = container.type === "list" ? container : null;
				if (!list || list.ordered !== item.ordered || list.marker !== item.marker) {
					const fresh = add("list", li);
					fresh.ordered = item.ordered;
					fresh.marker = item.marker;
					fresh.first = item.first;
				}
				container = add("item", li);
				container.indent = item.indent;
				continue;
			}
			break;
		}
		// 3. What is left of the line goes into a leaf.
		const blank = c.blank();
		if (!closed && !allMatched && !blank && tip.type === "paragraph") {
			// Lazy continuation of a paragraph (in a quote or list item).
			c.skipSpace();
			tip.lines.push(c.rest());
			markEnd(tip, li);
			return;
		}
		closeUnmatched();
		const target = tip;
		if (target.type === "table") {
			if (blank) finalize(target);
			else target.rows.push(splitCells(c.rest()));
		} else if (target.type === "code" || target.type === "html") {
			target.lines.push(c.rest());
			if (target.type === "html" && HTML_ENDS[target.level - 1]?.test(c.rest())) finalize(target);
		} else if (target.type === "paragraph") {
			if (!blank) {
				c.skipSpace();
				target.lines.push(c.rest());
			}
		} else if (!blank) {
			c.skipSpace();
			add("paragraph", li).lines.push(c.rest());
		}
		if (!blank) markEnd(tip.open && tip !== root ? tip : target, li);
		else if ((target.type === "code" && target.fence) || target.type === "html") markEnd(target, li);
		else if (!empty) {
			// Only markers (`>`, a new item's bullet): the line belongs to the innermost
			// quote or new item, but is a blank line to the lists and items inside it.
			let b: Block | null = container;
			while (b && b !== root && b.type !== "blockquote" && b.start !== li) b = b.parent;
			if (b && b !== root) markEnd(b, li);
		}
	});
	while (tip !== root) finalize(tip);
	finalize(root);
	return { root, refs, lines };
}

/** The line belongs to `b` and all its ancestors. */
function markEnd(b: Block | null, li: number): void {
	for (let node = b; node; node = node.parent) node.end = li;
}

/** A blank line between two siblings (what makes a list loose). */
function endsWithBlank(b: Block, next: Block): boolean {
	return next.start > b.end + 1;
}

/**
 * Does the line continue open block `b`? 0: yes, 1: no, 2: yes, and the line is used
 * up (a closing fence).
 */
function continues(b: Block, c: Cursor, blank: boolean): 0 | 1 | 2 {
	const { indent, next } = c.peek();
	switch (b.type) {
		case "blockquote":
			if (indent > 3 || c.line[next] !== ">") return 1;
			c.skipSpace();
			c.advance(1);
			if (c.line[c.pos] === " " || c.line[c.pos] === "\t") c.advance(1);
			return 0;
		case "item":
			if (blank) {
				// An item can begin with at most one blank line.
				if (!b.children.length) return 1;
				c.skipSpace();
				return 0;
			}
			if (indent < b.indent) return 1;
			c.advance(b.indent);
			return 0;
		case "code": {
			if (!b.fence) {
				if (indent >= 4) c.advance(4);
				else if (blank) c.skipSpace();
				else return 1;
				return 0;
			}
			if (indent < 4 && c.line[next] === b.fence[0]) {
				const run = /^(`+|~+)[ \t]*$/.exec(c.line.slice(next));
				if (run && (run[1] as string).length >= b.fence.length && run[1]?.[0] === b.fence[0]) {
					b.open = false;
					c.pos = c.line.length;
					return 2;
				}
			}
			c.advance(Math.min(indent, b.indent));
			return 0;
		}
		case "html":
			return blank && b.level >= 6 ? 1 : 0;
		case "paragraph":
		case "table":
			return blank ? 1 : 0;
		case "list":
		case "document":
			return 0;
		default:
			return 1;
	}
}

interface Marker {
	ordered: boolean;
	marker: string;
	first: number;
	indent: number;
}

/**
 * A list item's marker at the cursor, consumed with the spaces after it. When it would
 * interrupt `paragraph`, it must have content and, if ordered, start at 1.
 */
function listMarker(c: Cursor, container: Block, interrupts: boolean): Marker | null {
	const { indent, next } = c.peek();
	if (indent >= 4) return null;
	BULLET.lastIndex = next;
	ORDERED.lastIndex = next;
	const bullet = BULLET.exec(c.line);
	const ordered = bullet ? null : ORDERED.exec(c.line);
	const match = bullet ?? ordered;
	if (!match) return null;
	const width = match[0].length;
	const after = c.line[next + width];
	if (after !== undefined && after !== " " && after !== "\t") return null;
	const empty = next + width >= c.end;
	if (interrupts && container.type !== "list" && (empty || (ordered && ordered[1] !== "1"))) return null;
	c.skipSpace();
	c.advance(width);
	const spaces = c.peek().indent;
	let padding = width + spaces;
	if (spaces >= 5 || spaces < 1 || empty) {
		// Content indented 5 or more is indented code: only one space belongs to the marker.
		padding = width + 1;
		c.advance(1);
	} else c.advance(spaces);
	return {
		ordered: !!ordered,
		marker: ordered ? (ordered[2] as string) : match[0],
		first: ordered ? Number(ordered[1]) : 1,
		indent: indent + padding,
	};
}
