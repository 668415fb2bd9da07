/**
 * A rendered answer as the reader sees it, for "Copy as text": sanitized HTML to paste
 * formatted (an email, a document), and plain text with the layout kept (paragraphs,
 * list markers, table rows), formulas as their TeX source. The chat's own controls and
 * the cursor are left out; code stays as its code.
 */

const BLOCKS = new Set([
	"p",
	"h1",
	"h2",
	"h3",
	"h4",
	"h5",
	"h6",
	"blockquote",
	"table",
	"ul",
	"ol",
	"hr",
	"div",
	"pre",
]);

/** A copy of a rendered answer: `html` and `plain`, without controls or cursor. */
export function renderedCopy(body: HTMLElement): { html: string; plain: string } {
	const copy = body.cloneNode(true) as HTMLElement;
	for (const extra of Array.from(copy.querySelectorAll("button, .nbstream-cursor"))) extra.remove();
	copy.normalize();
	return { html: copy.innerHTML.trim(), plain: plainText(copy) };
}

/** Text with blank lines between blocks, `- ` and `1. ` before list items, tabs between cells. */
export function plainText(root: Node): string {
	return walk(root)
		.replace(/[ \t]+\n/g, "\n")
		.replace(/\n{3,}/g, "\n\n")
		.trim();
}

function walk(node: Node): string {
	if (node.nodeType === Node.TEXT_NODE) return (node as Text).data.replace(/\s*\n\s*/g, " ");
	if (node.nodeType !== Node.ELEMENT_NODE) return "";
	const el = node as Element;
	const name = el.localName;
	if (name === "pre") return `\n\n${el.textContent?.replace(/\n$/, "") ?? ""}\n\n`;
	if (name === "math") {
		const tex = el.querySelector("annotation")?.textContent ?? el.textContent ?? "";
		return el.getAttribute("display") === "block" ? `\n\n$$${tex}$$\n\n` : `$${tex}$`;
	}
	if (name === "br") return "\n";
	if (name === "hr") return "\n\n---\n\n";
	if (name === "input" && el.getAttribute("type") === "checkbox")
		return (el as HTMLInputElement).checked ? "[x] " : "[ ] ";
	const inner = Array.from(el.childNodes, walk).join("");
	if (name === "li") {
		const list = el.parentElement;
		const index = list ? Array.from(list.children).indexOf(el) : 0;
		const start = Number(list?.getAttribute("start") ?? 1);
		const marker = list?.localName === "ol" ? `${start + index}. ` : "- ";
		// Nested blocks inside an item are indented under its marker.
		return `\n${marker}${inner.trim().replace(/\n+/g, "\n   ")}`;
	}
	if (name === "tr") return `\n${Array.from(el.children, (cell) => walk(cell).trim()).join("\t")}`;
	if (name === "blockquote") return `\n\n${plainText(el).replace(/^/gm, "> ")}\n\n`;
	return BLOCKS.has(name) ? `\n\n${inner}\n\n` : inner;
}
