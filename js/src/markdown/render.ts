/**
 * Block tree → HTML, in the shape marked (the library this replaced) gave it: one
 * element per line (`<p>…</p>\n`), tight list items without `<p>`, GitHub's task
 * checkboxes and table alignment.
 */
import { highlight } from "../highlight";
import { escapeHtml } from "../url";
import type { Block } from "./blocks";
import { type InlineContext, renderInline } from "./inline";

/** `- [x] text`: a task item's box, then at least one space and its text. */
const TASK = /^\[([ xX])\] +(?=\S)/;

/**
 * Render one block (and everything in it) to HTML.
 *
 * @example
 * renderBlock(parseBlocks("# Hi").root.children[0], ctx) // "<h1>Hi</h1>\n"
 */
export function renderBlock(b: Block, ctx: InlineContext, tight = false): string {
	const inline = (): string => renderInline(b.lines.join("\n"), ctx);
	const children = (childrenTight = false): string =>
		b.children.map((child) => renderBlock(child, ctx, childrenTight)).join("");
	switch (b.type) {
		case "paragraph":
			return tight ? inline() : `<p>${inline()}</p>\n`;
		case "heading":
			return `<h${b.level}>${inline()}</h${b.level}>\n`;
		case "hr":
			return "<hr>\n";
		case "code": {
			const language = /^\S*/.exec(b.info)?.[0] ?? "";
			const cls = language ? ` class="language-${escapeHtml(language)}"` : "";
			const text = b.lines.join("\n").replace(/\n$/, "");
			// The closing newline stays outside every token: the cursor goes before it.
			return `<pre><code${cls}>${highlight(text, language)}\n</code></pre>\n`;
		}
		case "html":
			// Raw HTML in model output is shown as the text it is, never as markup.
			return `<p>${escapeHtml(b.lines.join("\n").trim())}</p>\n`;
		case "blockquote":
			return `<blockquote>\n${children()}</blockquote>\n`;
		case "list": {
			const tag = b.ordered ? "ol" : "ul";
			const start = b.ordered && b.first !== 1 ? ` start="${b.first}"` : "";
			const items = b.children.map((item) => renderItem(item, ctx, !b.loose)).join("");
			return `<${tag}${start}>\n${items}</${tag}>\n`;
		}
		case "table":
			return renderTable(b, ctx);
		case "document":
			return children();
		default:
			return "";
	}
}

/** A list item; a task item's box goes before its first paragraph's text. */
function renderItem(item: Block, ctx: InlineContext, tight: boolean): string {
	const first = item.children[0];
	const task = first?.type === "paragraph" ? TASK.exec(first.lines[0] as string) : null;
	let html = "";
	item.children.forEach((child, i) => {
		let rendered = renderBlock(child, ctx, tight);
		if (i === 0 && task) {
			const checked = task[1] === " " ? "" : 'checked="" ';
			const box = `<input ${checked}disabled="" type="checkbox"> `;
			const rest = {
				...child,
				lines: [(child.lines[0] as string).slice(task[0].length), ...child.lines.slice(1)],
			};
			rendered = renderBlock(rest, ctx, tight);
			rendered = tight ? box + rendered : rendered.replace(/^<p>/, `<p>${box}`);
		}
		html += rendered;
	});
	return `<li>${html}</li>\n`;
}

function renderTable(b: Block, ctx: InlineContext): string {
	const row = (cells: string[], tag: string): string => {
		const html = b.align.map((align, i) => {
			const attr = align ? ` align="${align}"` : "";
			// An escaped pipe is a pipe, in code spans too (GFM).
			const cell = renderInline((cells[i] ?? "").replace(/\\\|/g, "|"), ctx);
			return `<${tag}${attr}>${cell}</${tag}>\n`;
		});
		return `<tr>\n${html.join("")}</tr>\n`;
	};
	const [header = [], ...body] = b.rows;
	const tbody = body.length ? `<tbody>${body.map((cells) => row(cells, "td")).join("")}</tbody>` : "";
	return `<table>\n<thead>\n${row(header, "th")}</thead>\n${tbody}</table>\n`;
}
