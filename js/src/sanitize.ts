/**
 * Defence in depth behind markdown.ts: parse its HTML into an inert <template> (no
 * script runs, nothing is fetched) and keep only allowlisted elements and attributes.
 * The caller moves the resulting nodes straight into the page. Serializing them back
 * to a string and parsing again could change their meaning (mutation XSS), so we never do.
 */
import { isSafeImageUrl, isSafeUrl } from "./url";

/**
 * Elements removed together with everything inside them. `img` is among them unless
 * the user allowed images; then it is kept with only src, alt, loading, referrerpolicy
 * and decoding (see `cleanImage`).
 */
const DROP = new Set([
	"script",
	"style",
	"iframe",
	"frame",
	"frameset",
	"object",
	"embed",
	"applet",
	"svg",
	"math",
	"form",
	"link",
	"meta",
	"base",
	"template",
	"noscript",
	"textarea",
	"select",
	"button",
	"img",
	"video",
	"audio",
	"source",
	"picture",
	"canvas",
	"title",
	"head",
]);

/** Elements kept, with the attributes each may carry. Anything else is unwrapped. */
const ALLOWED: Record<string, readonly string[]> = {
	a: ["href", "title"],
	blockquote: [],
	br: [],
	code: ["class"],
	del: [],
	div: ["class"],
	em: [],
	h1: [],
	h2: [],
	h3: [],
	h4: [],
	h5: [],
	h6: [],
	hr: [],
	input: ["type", "checked", "disabled"],
	li: [],
	ol: ["start"],
	p: [],
	pre: ["class"],
	span: ["class", "title"],
	strong: [],
	table: [],
	tbody: [],
	td: ["align"],
	th: ["align"],
	thead: [],
	tr: [],
	ul: [],
};

/** Besides src and alt, an allowed image carries exactly these, with these values. */
const IMAGE_FIXED = { loading: "lazy", referrerpolicy: "no-referrer", decoding: "async" } as const;

/** What the sanitizer lets through beyond its fixed allowlist. */
export interface SanitizeOptions {
	/** Keep `<img>` whose `src` passes `isSafeImageUrl` (see markdown.ts `RenderOptions`). */
	allowImages?: boolean;
}

/** Class names we emit ourselves, and the code-block language class (markdown/render.ts). */
const CLASS = /^(?:nbstream-[a-z-]+|language-[\w+#.-]+)$/;
const ALIGN = new Set(["left", "center", "right"]);

/** Parse untrusted HTML and return only its safe part, ready to insert. */
export function sanitizedFragment(html: string, options: SanitizeOptions = {}): DocumentFragment {
	const template = document.createElement("template");
	// A template's content is inert: even an allowed <img> is not fetched before it is
	// checked and moved into the page.
	template.innerHTML = html;
	const fragment = template.content;
	cleanChildren(fragment, Boolean(options.allowImages));
	return fragment;
}

function cleanChildren(parent: ParentNode, images: boolean): void {
	// Copy first: cleaning replaces and removes children as it goes.
	for (const node of Array.from(parent.childNodes)) {
		if (node.nodeType === Node.ELEMENT_NODE) cleanElement(node as Element, images);
		else if (node.nodeType !== Node.TEXT_NODE) node.remove(); // comments, processing instructions
	}
}

function cleanElement(el: Element, images: boolean): void {
	const tag = el.localName;
	// Elements outside the HTML namespace (svg/math content) are never ours.
	if (el.namespaceURI !== "http://www.w3.org/1999/xhtml") {
		el.remove();
		return;
	}
	if (tag === "img") {
		if (images) cleanImage(el);
		else el.remove();
		return;
	}
	if (DROP.has(tag)) {
		el.remove();
		return;
	}
	const allowed = ALLOWED[tag];
	cleanChildren(el, images);
	if (!allowed) {
		el.replaceWith(...Array.from(el.childNodes));
		return;
	}
	for (const { name } of Array.from(el.attributes)) {
		if (!allowed.includes(name)) el.removeAttribute(name);
	}
	if (!checkAttributes(el, tag)) el.replaceWith(...Array.from(el.childNodes));
}

/** Keep an image only with a loadable `src` and exactly the attributes markdown.ts emits. */
function cleanImage(el: Element): void {
	// getAttribute returns the browser's own decoding: the URL it would fetch.
	const src = el.getAttribute("src");
	if (src === null || !isSafeImageUrl(src)) {
		el.remove();
		return;
	}
	const alt = el.getAttribute("alt") ?? "";
	for (const { name } of Array.from(el.attributes)) el.removeAttribute(name);
	el.replaceChildren(); // an <img> parsed from HTML has none; one built otherwise might
	el.setAttribute("src", src);
	el.setAttribute("alt", alt);
	for (const [name, value] of Object.entries(IMAGE_FIXED)) el.setAttribute(name, value);
}

/** Validate attribute values; false means the element itself must go (kept content). */
function checkAttributes(el: Element, tag: string): boolean {
	const cls = el.getAttribute("class");
	if (cls !== null) {
		const kept = cls.split(/\s+/).filter((c) => CLASS.test(c));
		if (kept.length) el.setAttribute("class", kept.join(" "));
		else el.removeAttribute("class");
	}
	switch (tag) {
		case "a": {
			// getAttribute returns the browser's own decoding of the value: the URL a click would follow.
			const href = el.getAttribute("href");
			if (href === null || !isSafeUrl(href)) return false;
			el.setAttribute("target", "_blank");
			el.setAttribute("rel", "noopener noreferrer");
			return true;
		}
		case "input":
			// Only task-list checkboxes, and never editable.
			if (el.getAttribute("type") !== "checkbox") return false;
			el.setAttribute("disabled", "");
			return true;
		case "ol": {
			const start = el.getAttribute("start");
			if (start !== null && !/^\d{1,9}$/.test(start)) el.removeAttribute("start");
			return true;
		}
		case "td":
		case "th": {
			const align = el.getAttribute("align");
			if (align !== null && !ALIGN.has(align)) el.removeAttribute("align");
			return true;
		}
		default:
			return true;
	}
}
