/**
 * Hostile model output and what "rendered safely" means, shared by the StreamView
 * and Chat tests.
 */
import { expect } from "vitest";
import corpusText from "../../tests/xss_corpus.json?raw";

/**
 * tests/xss_corpus.json is the corpus pytest uses too. Each entry is a payload, or a
 * payload split into the deltas it is streamed as (harmless in every prefix a stream
 * shows, dangerous when joined).
 */
function parseCorpus(text: string): string[][] {
	const entries: unknown = JSON.parse(text);
	if (!Array.isArray(entries)) throw new Error("xss_corpus.json: expected a list");
	return entries.map((entry: unknown): string[] => {
		const parts = typeof entry === "string" ? [entry] : entry;
		if (!Array.isArray(parts) || !parts.length || !parts.every((p) => typeof p === "string"))
			throw new Error(`xss_corpus.json: bad entry ${JSON.stringify(entry)}`);
		return parts as string[];
	});
}

/** Every entry, as the deltas it is streamed in (one part for an ordinary payload). */
export const CORPUS: readonly string[][] = parseCorpus(corpusText);
/** Every payload, whole. */
export const PAYLOADS: string[] = CORPUS.map((parts) => parts.join(""));
/** The split entries only. */
export const SPLITS: readonly string[][] = CORPUS.filter((parts) => parts.length > 1);

const FORBIDDEN =
	"script, iframe, style, svg, math, object, embed, form, link, meta, base, frame, video, audio, " +
	"source, picture, marquee, body, template, noscript, xmp";
/** Attributes that load, run or restyle something; none of them may survive. */
const FORBIDDEN_ATTRIBUTES = new Set([
	"style",
	"srcdoc",
	"srcset",
	"background",
	"formaction",
	"action",
	"poster",
	"data",
	"xlink:href",
	"autofocus",
]);
const SAFE_HREF = /^(https?:|mailto:|#|\/|\.|[^:/?#]*(?:[/?#]|$))/i;
/** What an image may load once the user allows images: the rule of url.ts, restated. */
const IMAGE_SRC =
	/^(?:https?:\/\/[^\s"'<>\\`]+|data:image\/(?:png|gif|jpeg|webp)(?:;base64)?,[a-z0-9+/=%._~-]*)$/i;
const IMAGE_ATTRIBUTES = ["alt", "decoding", "loading", "referrerpolicy", "src"];

/**
 * Everything the brief promises about untrusted output, checked on a live subtree.
 * With `images`, an <img> may appear, but only as markdown.ts emits it for a safe URL.
 */
export function expectSafe(root: Element, payload: string, options: { images?: boolean } = {}): void {
	expect(root.querySelector(FORBIDDEN), payload).toBeNull();
	for (const img of Array.from(root.querySelectorAll("img"))) {
		expect(options.images, `${payload}: an <img> while images are off`).toBe(true);
		expect(img.getAttributeNames().sort(), payload).toEqual(IMAGE_ATTRIBUTES);
		expect(img.getAttribute("src"), payload).toMatch(IMAGE_SRC);
		expect(img.getAttribute("loading"), payload).toBe("lazy");
		expect(img.getAttribute("referrerpolicy"), payload).toBe("no-referrer");
		expect(img.getAttribute("decoding"), payload).toBe("async");
	}
	for (const el of Array.from(root.querySelectorAll("*"))) {
		for (const { name } of Array.from(el.attributes)) {
			expect(name.toLowerCase().startsWith("on"), `${payload}: ${name} on <${el.localName}>`).toBe(false);
			expect(FORBIDDEN_ATTRIBUTES.has(name.toLowerCase()), `${payload}: ${name} on <${el.localName}>`).toBe(
				false,
			);
		}
	}
	for (const input of Array.from(root.querySelectorAll("input"))) {
		// The chat's own file picker, in its composer; markdown makes checkboxes only.
		if (input.matches(".nbstream-chat-compose > input[type=file]")) continue;
		expect(input.getAttribute("type"), payload).toBe("checkbox");
	}
	for (const a of Array.from(root.querySelectorAll("a"))) {
		const href = a.getAttribute("href") ?? "";
		expect(href, payload).toMatch(SAFE_HREF);
		expect(href.replace(/\s/g, "").toLowerCase(), payload).not.toMatch(/^(javascript|data|vbscript):/);
		expect(a.getAttribute("rel"), payload).toBe("noopener noreferrer");
		expect(a.getAttribute("target"), payload).toBe("_blank");
	}
}
