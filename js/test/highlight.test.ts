/** Syntax highlighting: tokens for each language, always escaped, and stable while streaming. */
import { describe, expect, it } from "vitest";
import { grammarFor, highlight } from "../src/highlight";
import { markdownToHtml } from "../src/markdown";
import { sanitizedFragment } from "../src/sanitize";

/** [kind, text] of every highlighted token, in order. */
function tokens(code: string, language: string): [string, string][] {
	const box = document.createElement("div");
	box.innerHTML = highlight(code, language);
	expect(box.textContent).toBe(code); // highlighting never changes the text
	return Array.from(box.querySelectorAll("span")).map((span) => [
		span.className.replace("nbstream-tok-", ""),
		span.textContent ?? "",
	]);
}

describe("highlight", () => {
	it("marks Python keywords, strings, comments, numbers and literals", () => {
		expect(tokens('def f(x=1.5):\n    return "hi" # done\nNone', "python")).toEqual([
			["keyword", "def"],
			["number", "1.5"],
			["keyword", "return"],
			["string", '"hi"'],
			["comment", "# done"],
			["literal", "None"],
		]);
		expect(tokens('s = f"""a\n"b"\n"""', "py")).toEqual([["string", 'f"""a\n"b"\n"""']]);
	});

	it("marks JavaScript and TypeScript", () => {
		// A template literal (its placeholder is part of the string, not highlighted apart).
		const template = "`x$" + "{b}`";
		expect(tokens(`const a = ${template}; // c\n/* d */ null`, "js")).toEqual([
			["keyword", "const"],
			["string", template],
			["comment", "// c"],
			["comment", "/* d */"],
			["literal", "null"],
		]);
		expect(tokens("interface A { b: number }", "ts")).toEqual([["keyword", "interface"]]);
		expect(tokens("interface A {}", "js")).toEqual([]); // not a JavaScript keyword
	});

	it("tells JSON keys from string values", () => {
		expect(tokens('{"a": "b", "n": -2e3, "t": true}', "json")).toEqual([
			["key", '"a"'],
			["string", '"b"'],
			["key", '"n"'],
			["number", "2e3"],
			["key", '"t"'],
			["literal", "true"],
		]);
	});

	it("marks bash variables and comments, not a # inside a word", () => {
		expect(tokens('echo "$HOME" $1 # hi\nif [ a#b ]; then', "bash")).toEqual([
			["string", '"$HOME"'],
			["variable", "$1"],
			["comment", "# hi"],
			["keyword", "if"],
			["keyword", "then"],
		]);
	});

	it("marks SQL keywords in any case", () => {
		expect(tokens("SELECT name FROM t WHERE x = 'it''s' -- c", "sql")).toEqual([
			["keyword", "SELECT"],
			["keyword", "FROM"],
			["keyword", "WHERE"],
			["string", "'it''s'"],
			["comment", "-- c"],
		]);
	});

	it("leaves unknown languages and names plain, escaped", () => {
		expect(grammarFor("brainfuck")).toBeUndefined();
		expect(highlight("<b>&</b>", "brainfuck")).toBe("&lt;b&gt;&amp;&lt;/b&gt;");
		expect(highlight("iffy = 1", "python")).toBe('iffy = <span class="nbstream-tok-number">1</span>');
	});

	it("never lets code become markup", () => {
		for (const language of ["python", "js", "json", "bash", "sql", "html"]) {
			const html = highlight('"<img src=x onerror=alert(1)>" <script>x</script>', language);
			const box = document.createElement("div");
			box.innerHTML = html;
			expect(box.querySelector("img, script")).toBeNull();
		}
	});

	it("keeps an unfinished string or comment to the end, as an editor does", () => {
		expect(tokens('x = "still typ', "python")).toEqual([["string", '"still typ']]);
		expect(tokens("/* still", "js")).toEqual([["comment", "/* still"]]);
	});

	it("runs through the markdown renderer and survives the sanitizer", () => {
		const fragment = sanitizedFragment(markdownToHtml("```python\nimport os\n```"));
		const code = fragment.querySelector("pre > code.language-python");
		expect(code?.textContent).toBe("import os\n");
		expect(code?.querySelector(".nbstream-tok-keyword")?.textContent).toBe("import");
	});
});
