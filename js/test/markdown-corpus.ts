/**
 * Markdown documents that exercise the streaming renderer: every block type, the
 * constructs whose meaning changes with what follows, and inline markup of every kind.
 * Shared by the incremental and the tail-repair property tests.
 */
export const DOCUMENTS: Record<string, string> = {
	mixed: [
		"# Title",
		"",
		"Some *emphasis*, **strong**, ~~gone~~ and `code` with a [link](https://example.com).",
		"",
		"1. first",
		"2. second",
		"   - nested",
		"   - [x] task",
		"",
		"> quoted",
		"lazy continuation",
		"",
		"```python",
		"def f(x):",
		"    return x * 2  # 👋",
		"```",
		"",
		"| a | b |",
		"|:--|--:|",
		"| 1 | 2 |",
		"| 3 | 4 |",
		"",
		"---",
		"Setext",
		"======",
		"the end",
	].join("\n"),
	// A blank line, then more items: the list turns loose and every earlier item changes.
	"list continues after blank line": "1. a\n2. b\n\n3. c\n\nafter\n\n- x\n\n- y\n  continued\n- z",
	// The definition comes last and changes the first paragraph.
	"late reference definition":
		"See [the docs][docs] and [again][docs].\n\nMore text.\n\n[docs]: https://example.com/docs",
	"setext heading and hr": "Heading\n---\ntext\n***\nOther\n=",
	"unclosed fence": "Before\n\n```js\nlet a = 1;\n\nlet b = 2;",
	"table grows": "Intro\n| h1 | h2 |\n| --- | --- |\n| a | b |\n| c | d |\nafter table",
	"raw html is text": "<div>\n*not emphasis*\n</div>\n\npara <b>x</b>\n\n<!-- c -->",
	"indented code": "para\n\n    code line\n    more\n\nafter",
	"nested lists and quotes":
		"- a\n\n  - b\n\n\n    c\n- d\n> - q\n>\n> - r\n\n> quote\ncontinues\n\n1) x\n2) y\n\n   z",
	"fence inside list": "- item\n\n  ```\n  code\n\n  more\n  ```\n- next\n\n* * *\n*not a list*",
	"emoji and surrogates": "😀 **🎉 party** `🚀`\n\n- 👋 wave\n- 🌍 world",
	"inline markup": [
		"Plain, *em*, _em too_, **strong**, __strong too__, ***both***, ~~struck~~ and `code`.",
		"Nested **strong with *em* inside** and *em with `code` in it*.",
		"A [link](https://example.com/a/long/path?q=1) and ![an image](https://example.com/i.png).",
		"snake_case_names and 2*3*4 stay text; so does a lone * star.",
		"``code with ` a backtick`` and a [bracket] that is text.",
		"",
		"- **Item** with [a link](https://example.com)",
		"- `code` item and ~~gone~~",
		"",
		"| **Name** | `code` |",
		"| --- | --- |",
		"| *x* | [y](https://example.com) |",
		"",
		"> a quote with **strong** text",
	].join("\n"),
};
