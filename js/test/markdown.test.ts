/**
 * The markdown parser (src/markdown/): what each construct renders to, that tokens'
 * sources add up to the text and render alone as they do in the document, and that
 * pathological input stays fast.
 */
import { describe, expect, it } from "vitest";
import { lex, markdownToHtml, type Token, toHtml } from "../src/markdown";
import { DOCUMENTS } from "./markdown-corpus";

const md = (text: string): string => markdownToHtml(text);

describe("blocks", () => {
	it("ATX and setext headings, without ids", () => {
		expect(md("# h1\n## h2 ##\n###### h6 #\n####### no")).toBe(
			"<h1>h1</h1>\n<h2>h2</h2>\n<h6>h6</h6>\n<p>####### no</p>\n",
		);
		expect(md("Title\n=====\nSub\n---")).toBe("<h1>Title</h1>\n<h2>Sub</h2>\n");
		expect(md("#hashtag")).toBe("<p>#hashtag</p>\n");
	});

	it("thematic breaks", () => {
		expect(md("***\n---\n___\n* * *")).toBe("<hr>\n<hr>\n<hr>\n<hr>\n");
		expect(md("text\n***")).toBe("<p>text</p>\n<hr>\n");
	});

	it("paragraphs, soft and hard line breaks", () => {
		expect(md("a\nb")).toBe("<p>a\nb</p>\n");
		expect(md("a  \nb\\\nc")).toBe("<p>a<br>b<br>c</p>\n");
		expect(md("a\n\n\nb")).toBe("<p>a</p>\n<p>b</p>\n");
	});

	it("tight, loose and nested lists", () => {
		expect(md("- a\n- b")).toBe("<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
		expect(md("- a\n\n- b")).toBe("<ul>\n<li><p>a</p>\n</li>\n<li><p>b</p>\n</li>\n</ul>\n");
		expect(md("- a\n\n  b\n- c")).toBe("<ul>\n<li><p>a</p>\n<p>b</p>\n</li>\n<li><p>c</p>\n</li>\n</ul>\n");
		expect(md("- a\n  - b\n    - c\n- d")).toBe(
			"<ul>\n<li>a<ul>\n<li>b<ul>\n<li>c</li>\n</ul>\n</li>\n</ul>\n</li>\n<li>d</li>\n</ul>\n",
		);
		// A different bullet starts a new list.
		expect(md("- a\n+ b")).toBe("<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n");
	});

	it("ordered lists keep their start number", () => {
		expect(md("3. x\n4. y")).toBe('<ol start="3">\n<li>x</li>\n<li>y</li>\n</ol>\n');
		expect(md("1) x\n2) y")).toBe("<ol>\n<li>x</li>\n<li>y</li>\n</ol>\n");
		// Only a list starting at 1 may interrupt a paragraph.
		expect(md("text\n2. no")).toBe("<p>text\n2. no</p>\n");
		expect(md("text\n1. yes")).toBe("<p>text</p>\n<ol>\n<li>yes</li>\n</ol>\n");
	});

	it("task items", () => {
		expect(md("- [x] done\n- [ ] todo\n- [X] big")).toBe(
			'<ul>\n<li><input checked="" disabled="" type="checkbox"> done</li>\n' +
				'<li><input disabled="" type="checkbox"> todo</li>\n' +
				'<li><input checked="" disabled="" type="checkbox"> big</li>\n</ul>\n',
		);
		expect(md("- [x] a\n\n- [ ] b")).toBe(
			'<ul>\n<li><p><input checked="" disabled="" type="checkbox"> a</p>\n</li>\n' +
				'<li><p><input disabled="" type="checkbox"> b</p>\n</li>\n</ul>\n',
		);
		expect(md("- [x]")).toBe("<ul>\n<li>[x]</li>\n</ul>\n");
	});

	it("block quotes, nested, with lazy continuation", () => {
		expect(md("> a\n> > b\nlazy")).toBe(
			"<blockquote>\n<p>a</p>\n<blockquote>\n<p>b\nlazy</p>\n</blockquote>\n</blockquote>\n",
		);
		expect(md("> - a\n>\n> - b")).toBe(
			"<blockquote>\n<ul>\n<li><p>a</p>\n</li>\n<li><p>b</p>\n</li>\n</ul>\n</blockquote>\n",
		);
	});

	it("fenced and indented code", () => {
		expect(md("```py\nx = 1\n```")).toBe(
			'<pre><code class="language-py">x = <span class="nbstream-tok-number">1</span>\n</code></pre>\n',
		);
		expect(md("~~~\n<b>\n~~~")).toBe("<pre><code>&lt;b&gt;\n</code></pre>\n");
		expect(md("````\n```\n````")).toBe("<pre><code>```\n</code></pre>\n");
		// Unclosed, as while it streams: code to the end.
		expect(md("```js\nunclosed\n\nmore")).toBe(
			'<pre><code class="language-js">unclosed\n\nmore\n</code></pre>\n',
		);
		expect(md("    code\n    more\n\nafter")).toBe("<pre><code>code\nmore\n</code></pre>\n<p>after</p>\n");
		expect(md("- item\n\n  ```\n  code\n  ```")).toBe(
			"<ul>\n<li><p>item</p>\n<pre><code>code\n</code></pre>\n</li>\n</ul>\n",
		);
	});

	it("tables with alignment", () => {
		expect(md("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n| 5 |")).toBe(
			"<table>\n<thead>\n<tr>\n" +
				'<th align="left">a</th>\n<th align="center">b</th>\n<th align="right">c</th>\n<th>d</th>\n' +
				"</tr>\n</thead>\n<tbody><tr>\n" +
				'<td align="left">1</td>\n<td align="center">2</td>\n<td align="right">3</td>\n<td>4</td>\n' +
				"</tr>\n<tr>\n" +
				'<td align="left">5</td>\n<td align="center"></td>\n<td align="right"></td>\n<td></td>\n' +
				"</tr>\n</tbody></table>\n",
		);
		expect(md("a | b\n--- | ---\n`x\\|y` | *z*")).toBe(
			"<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n" +
				"<tbody><tr>\n<td><code>x|y</code></td>\n<td><em>z</em></td>\n</tr>\n</tbody></table>\n",
		);
		// The paragraph's last line is the header; what comes before stays a paragraph.
		expect(md("Intro\n| h |\n| - |")).toBe(
			"<p>Intro</p>\n<table>\n<thead>\n<tr>\n<th>h</th>\n</tr>\n</thead>\n</table>\n",
		);
		// Cell counts must agree.
		expect(md("| a | b |\n| - |")).toBe("<p>| a | b |\n| - |</p>\n");
	});

	it("shows raw HTML blocks as text", () => {
		expect(md("<div>\n*x*\n</div>\n\nafter")).toBe("<p>&lt;div&gt;\n*x*\n&lt;/div&gt;</p>\n<p>after</p>\n");
		expect(md("<script>\nalert(1)\n\n</script>")).toBe(
			"<p>&lt;script&gt;\nalert(1)\n\n&lt;/script&gt;</p>\n",
		);
	});
});

describe("inline", () => {
	const p = (text: string): string => md(text).replace(/^<p>|<\/p>\n$/g, "");

	it("emphasis and strong by CommonMark's delimiter rules", () => {
		expect(p("**bold** *it* ***both*** __b__ _i_ snake_case_name")).toBe(
			"<strong>bold</strong> <em>it</em> <em><strong>both</strong></em> <strong>b</strong> <em>i</em> snake_case_name",
		);
		expect(p("foo*bar*baz foo_bar_baz *a **b** c* **a *b* c**")).toBe(
			"foo<em>bar</em>baz foo_bar_baz <em>a <strong>b</strong> c</em> <strong>a <em>b</em> c</strong>",
		);
		expect(p("*(a)* **foo bar ** _ a _ 2*3*4 a * b")).toBe(
			"<em>(a)</em> **foo bar ** _ a _ 2<em>3</em>4 a * b",
		);
		expect(p("*a **b***")).toBe("<em>a <strong>b</strong></em>");
		expect(p("**a** and **")).toBe("<strong>a</strong> and **");
		expect(p("*foo**bar**baz*")).toBe("<em>foo<strong>bar</strong>baz</em>");
	});

	it("strikethrough with one or two tildes", () => {
		expect(p("~~del~~ ~one~ ~~~three~~~")).toBe("<del>del</del> <del>one</del> ~~~three~~~");
	});

	it("code spans", () => {
		expect(p("`code` `` a`b `` ` x ` `unclosed")).toBe(
			"<code>code</code> <code>a`b</code> <code>x</code> `unclosed",
		);
		expect(p("`<b>*x*</b>`")).toBe("<code>&lt;b&gt;*x*&lt;/b&gt;</code>");
		expect(p("`a\nb`")).toBe("<code>a b</code>");
	});

	it("backslash escapes and entities", () => {
		expect(p("\\*not\\* \\# \\a")).toBe("*not* # \\a");
		expect(p("&copy; &#35; &#x41; AT&T &foo")).toBe("&copy; &#35; &#x41; AT&amp;T &amp;foo");
		expect(p("x<y & a>b \"q\" 'a'")).toBe("x&lt;y &amp; a&gt;b &quot;q&quot; &#39;a&#39;");
	});

	it("inline links: titles, <destinations>, balanced parentheses", () => {
		expect(p('[t](http://a.com "title") [u](<a b>) [v](a(b)c) [w]()')).toBe(
			'<a href="http://a.com" title="title">t</a> <a href="a b">u</a> <a href="a(b)c">v</a> <a href="">w</a>',
		);
		expect(p("[**b** `c`](/x)")).toBe('<a href="/x"><strong>b</strong> <code>c</code></a>');
		expect(p("[a [b](/in) c](/out)")).toBe('[a <a href="/in">b</a> c](/out)');
		expect(p("[x](/a&amp;b 'T &amp; U')")).toBe('<a href="/a&amp;b" title="T &amp; U">x</a>');
	});

	it("unsafe links show their text only", () => {
		expect(p("[a](javascript:alert(1)) <javascript:x> [b](&#106;avascript:x)")).toBe("a javascript:x b");
	});

	it("reference links: full, collapsed, shortcut, case-insensitive", () => {
		expect(md('[r][ref] [ref][] [ref] [REF] [no]\n\n[ref]: http://r.com "T"')).toBe(
			'<p><a href="http://r.com" title="T">r</a> <a href="http://r.com" title="T">ref</a> ' +
				'<a href="http://r.com" title="T">ref</a> <a href="http://r.com" title="T">REF</a> [no]</p>\n',
		);
		expect(md("[a]: /first\n[a]: /second\n\n[a]")).toBe('<p><a href="/first">a</a></p>\n');
	});

	it("images", () => {
		expect(p('![alt](http://a/b.png "t")')).toBe(
			'<span class="nbstream-image" title="image: http://a/b.png">🖼\u00a0alt</span>',
		);
		expect(markdownToHtml("![a](https://a/b.png)", { allowImages: true })).toBe(
			'<p><img src="https://a/b.png" alt="a" loading="lazy" referrerpolicy="no-referrer" decoding="async"></p>\n',
		);
	});

	it("autolinks and GFM's bare URLs and emails, without trailing punctuation", () => {
		expect(p("<https://a.b/c> <me@x.org>")).toBe(
			'<a href="https://a.b/c">https://a.b/c</a> <a href="mailto:me@x.org">me@x.org</a>',
		);
		expect(p("https://x.com/y. www.z.org, me@ex.com (see https://w.org/a_(b))")).toBe(
			'<a href="https://x.com/y">https://x.com/y</a>. <a href="http://www.z.org">www.z.org</a>, ' +
				'<a href="mailto:me@ex.com">me@ex.com</a> (see <a href="https://w.org/a_(b)">https://w.org/a_(b)</a>)',
		);
		// No link inside a link's text.
		expect(p("[https://a.org](https://b.org)")).toBe('<a href="https://b.org">https://a.org</a>');
	});

	it("raw inline HTML shows as text, and markdown inside it stays literal", () => {
		expect(p('<b>x</b> <!-- *c* --> <a href="*x*">')).toBe(
			"&lt;b&gt;x&lt;/b&gt; &lt;!-- *c* --&gt; &lt;a href=&quot;*x*&quot;&gt;",
		);
	});

	it("math", () => {
		expect(p("$x^2$ and $$\\int$$ but $5 and $10")).toBe(
			'<span class="nbstream-math">x^2</span> and <span class="nbstream-math nbstream-math-block">\\int</span> but $5 and $10',
		);
	});
});

/** A random document from the corpus's lines and some markup of every kind. */
function randomDocument(random: () => number): string {
	const pieces = [
		...Object.values(DOCUMENTS).flatMap((doc) => doc.split("\n")),
		"",
		"",
		"   ",
		"\t- tab",
		"> ",
		"- ",
		"1.",
		"```",
		"~~~",
		"    code",
		"[ref]: /url",
		"| x |",
		"|---|",
		"<div>",
		"<!--",
		"-->",
		"* * *",
		"===",
		"a\r",
	];
	const lines = Array.from({ length: 1 + Math.floor(random() * 30) }, () => {
		return pieces[Math.floor(random() * pieces.length)] as string;
	});
	const ending = random() < 0.2 ? "\r\n" : "\n";
	return lines.join(ending) + (random() < 0.5 ? ending : "");
}

function seeded(seed: number): () => number {
	let state = seed;
	return () => {
		state = (state * 1103515245 + 12345) % 2147483648;
		return state / 2147483648;
	};
}

describe("tokens", () => {
	it("are the top-level blocks, blank lines between them as space", () => {
		expect(lex("# Hi\n\ntext\n\n\n- a\n- b\n").map((t) => [t.type, t.raw])).toEqual([
			["heading", "# Hi\n"],
			["space", "\n"],
			["paragraph", "text\n"],
			["space", "\n\n"],
			["list", "- a\n- b\n"],
		]);
		expect(lex("> q\n```\ncode\n\n").map((t) => t.type)).toEqual(["blockquote", "code"]);
		expect(lex("<p>\n\n[a]: /u\n| a |\n|---|\n---\n    x").map((t) => t.type)).toEqual([
			"html",
			"space",
			"def",
			"table",
			"hr",
			"code",
		]);
	});

	it("have sources that add up to the text, for random documents", () => {
		const random = seeded(7);
		for (let n = 0; n < 2000; n++) {
			const text = randomDocument(random);
			expect(
				lex(text)
					.map((t) => t.raw)
					.join(""),
				JSON.stringify(text),
			).toBe(text);
		}
	});

	it("render alone as they do in the whole document, late link definitions included", () => {
		const random = seeded(11);
		const texts = [...Object.values(DOCUMENTS), ...Array.from({ length: 300 }, () => randomDocument(random))];
		for (const text of texts) {
			const tokens = lex(text);
			expect(tokens.map((t) => toHtml([t])).join(""), JSON.stringify(text)).toBe(markdownToHtml(text));
		}
		const [first] = lex("See [docs].\n\n[docs]: https://example.com");
		expect(toHtml([first as Token])).toBe('<p>See <a href="https://example.com">docs</a>.</p>\n');
	});
});

describe("performance", () => {
	const SIZE = 200_000;
	/** `chunk` repeated to about 200 kB. */
	const fill = (chunk: string): string => chunk.repeat(Math.ceil(SIZE / chunk.length));
	const cases: Record<string, string> = {
		"10,000 stars": fill(`${"*".repeat(10_000)}\n\n`),
		"10,000 underscores": fill(`${"_".repeat(10_000)} a\n\n`),
		"10,000 open brackets": fill(`${"[".repeat(10_000)}\n\n`),
		"10,000 close brackets": fill(`${"]".repeat(10_000)}\n\n`),
		"10,000 backticks": fill(`${"`".repeat(10_000)}\n\n`),
		"backtick runs of every length": fill(
			Array.from({ length: 200 }, (_, i) => `${"`".repeat(i + 1)}a`).join(""),
		),
		"openers without closers": fill("*a _b **c ~~d "),
		"unclosed links": fill("[a](<b [c](d 'e [f]("),
		"unclosed HTML": fill("<!-- <? <![CDATA[ <a b='c "),
		"unclosed math": fill("$$a $b "),
		"bare URLs and emails": fill("http://a.b/(c www.d.e) f@g.h_ "),
		"quotes 1,000 deep": fill(`${">".repeat(1_000)} a\n`),
		"lists 1,000 deep": fill(`${"- ".repeat(1_000)}a\n`),
		"ordered lists 1,000 deep": fill(`${"1. ".repeat(1_000)}a\n`),
		"a long table": `| a | b |\n|---|---|\n${fill("| *1* | `2` |\n")}`,
	};
	/** How long one render of `text` takes, in ms. */
	const time = (text: string): number => {
		const start = performance.now();
		markdownToHtml(text);
		return performance.now() - start;
	};
	for (const [name, text] of Object.entries(cases)) {
		// Linear, not quadratic: four times the text takes about four times as long (a
		// quadratic parser, sixteen). The two sizes are timed in turns and the fastest of
		// each kept, so a busy machine (CI runs other checks beside these) slows both
		// alike; a quarter of the text is big enough (~2 ms) to time steadily. And an
		// absolute bound far above the ~5-40 ms it takes, for a parser slow on everything.
		it(`renders ${name} (200 kB) in linear time`, () => {
			const quarter = text.slice(0, text.length / 4);
			markdownToHtml(quarter); // warm up
			let small = Number.POSITIVE_INFINITY;
			let large = Number.POSITIVE_INFINITY;
			for (let i = 0; i < 7; i++) {
				small = Math.min(small, time(quarter));
				large = Math.min(large, time(text));
			}
			const ratio = large / Math.max(small, 1);
			expect(ratio, `${large.toFixed(1)} ms vs ${small.toFixed(1)} ms`).toBeLessThan(10);
			expect(large).toBeLessThan(1_000);
		});
	}
});
