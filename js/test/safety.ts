/**
 * Hostile model output and what "rendered safely" means, shared by the StreamView
 * and Chat tests.
 */
import { expect } from "vitest";

export const PAYLOADS = [
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	"<svg onload=alert(1)>",
	"[x](javascript:alert(1))",
	"[x](JaVaScRiPt:alert(1))",
	"[x](&#106;avascript:alert(1))",
	"[x](&#x6A;avascript&colon;alert(1))",
	"[x]( javascript:alert(1))",
	"[x](<javascript:alert(1)>)",
	"[x](java\tscript:alert(1))",
	"[x](data:text/html,<script>alert(1)</script>)",
	"[x](vbscript:msgbox(1))",
	"[x][ref]\n\n[ref]: javascript:alert(1)",
	"![x](javascript:alert(1))",
	"![x](https://example.com/a.png)",
	'<iframe src="javascript:alert(1)"></iframe>',
	"<style>body{display:none}</style>",
	'<a href="javascript:alert(1)">x</a>',
	"<javascript:alert(1)>",
	"text <b onmouseover=alert(1)>hover</b> text",
	"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
	'<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
	"<object data=javascript:alert(1)></object><embed src=x><form><input type=text></form>",
	"<base href=javascript:/><link rel=stylesheet href=x><meta http-equiv=refresh content=0>",
	"```html\n<script>alert(1)</script>\n```",
	"`<img src=x onerror=alert(1)>`",
	"- [ ] <input onfocus=alert(1) autofocus>",
	"| a |\n|---|\n| <img src=x onerror=alert(1)> |",
	"> <iframe srcdoc='<script>alert(1)</script>'>",
];

const FORBIDDEN =
	"script, iframe, style, svg, math, object, embed, form, link, meta, base, frame, video, audio";
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
			expect(name.toLowerCase(), payload).not.toBe("style");
			expect(name.toLowerCase(), payload).not.toBe("srcdoc");
		}
	}
	for (const input of Array.from(root.querySelectorAll("input"))) {
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
