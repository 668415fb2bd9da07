/**
 * The one place that decides which URLs model output may point to.
 * Model output is untrusted: a link must not run script when clicked.
 */

const ALLOWED_SCHEMES = new Set(["http", "https", "mailto"]);

// Browsers drop these anywhere in a URL before reading its scheme ("java\tscript:"),
// so we drop them too before judging it; C1 controls and spaces go as well, to be safe.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const IGNORED = /[\u0000-\u0020\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff]/g;
const SCHEME = /^([a-z][a-z0-9+.-]*):/;

/**
 * True if `url` (already entity-decoded) is http(s), mailto, or relative / a fragment.
 * Anything with a colon before its first `/`, `?` or `#` must name an allowed scheme,
 * so that a scheme we cannot parse ("&#106;avascript:") is refused, not let through.
 */
export function isSafeUrl(url: string): boolean {
	const bare = url.replace(IGNORED, "").toLowerCase();
	const scheme = SCHEME.exec(bare);
	if (scheme) return ALLOWED_SCHEMES.has(scheme[1] as string);
	const colon = bare.indexOf(":");
	if (colon < 0) return true;
	const pathStart = bare.search(/[/?#]/);
	return pathStart >= 0 && pathStart < colon;
}

// Images are fetched by the browser as soon as they are shown, so the rule is an
// allowlist of whole URLs, not of schemes: absolute http(s) with nothing the URL parser
// would strip or reinterpret, or an inline raster image (never SVG, which can hold script).
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const IMAGE_HTTP = /^https?:\/\/[^\u0000-\u0020\u007f-\u009f"'<>\\`]+$/i;
const IMAGE_DATA = /^data:image\/(?:png|gif|jpeg|webp)(?:;base64)?,[a-z0-9+/=%._~-]*$/i;

/**
 * True if `url` (already entity-decoded) may be loaded as an image when the user has
 * allowed images: http(s), or a data: URL of a PNG, GIF, JPEG or WebP. Relative URLs
 * are refused too: they would resolve against the Jupyter server.
 */
export function isSafeImageUrl(url: string): boolean {
	return IMAGE_HTTP.test(url) || IMAGE_DATA.test(url);
}

const NAMED: Record<string, string> = {
	amp: "&",
	lt: "<",
	gt: ">",
	quot: '"',
	apos: "'",
	colon: ":",
	tab: "\t",
	newline: "\n",
	sol: "/",
	num: "#",
	lpar: "(",
	rpar: ")",
	period: ".",
	nbsp: "\u00a0",
};

/**
 * Decode the character references markdown allows in a link destination. Named
 * references we do not know stay as they are: `isSafeUrl` then sees a literal `&`,
 * and the DOM sanitizer re-checks the browser's own decoding anyway.
 */
export function decodeEntities(text: string): string {
	return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});/gi, (whole, body: string) => {
		if (body[0] === "#") {
			const hex = body[1] === "x" || body[1] === "X";
			const code = Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
			// NUL, surrogates and out-of-range code points decode to U+FFFD, as in HTML.
			const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
			return String.fromCodePoint(valid ? code : 0xfffd);
		}
		return NAMED[body.toLowerCase()] ?? whole;
	});
}

const ESCAPES: Record<string, string> = {
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
	'"': "&quot;",
	"'": "&#39;",
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}
