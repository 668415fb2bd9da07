import { describe, expect, it } from "vitest";
import css from "../src/chat/styles.css?raw";

const source = css.replace(/\/\*[\s\S]*?\*\//g, "");

/** The selector lists of style rules (not at-rules or keyframe steps), split at top-level commas. */
function selectors(): string[] {
	const found: string[] = [];
	for (const match of source.matchAll(/([^{};]+)\{/g)) {
		const prelude = (match[1] as string).trim();
		if (prelude.startsWith("@")) continue;
		let depth = 0;
		let current = "";
		for (const char of prelude) {
			if (char === "(") depth++;
			if (char === ")") depth--;
			if (char === "," && depth === 0) {
				found.push(current.trim());
				current = "";
			} else current += char;
		}
		found.push(current.trim());
	}
	return found;
}

/** The declarations of the first rule whose selector list is exactly `selector`. */
function rule(selector: string): string {
	const start = source.indexOf(`${selector} {`);
	expect(start, selector).toBeGreaterThanOrEqual(0);
	return source.slice(start, source.indexOf("}", start));
}

describe("chat styles", () => {
	it("builds on the shared stylesheet and scopes every rule under .nbstream-chat", () => {
		expect(source.trimStart().startsWith('@import "../styles.css";')).toBe(true);
		const all = selectors();
		expect(all.length).toBeGreaterThan(30);
		for (const selector of all) expect(selector).toMatch(/^\.nbstream-chat\b/);
	});

	it("bounds the widget's height and scrolls the log inside it, never the notebook", () => {
		expect(rule(".nbstream-chat")).toMatch(/max-height:\s*36rem/);
		const log = rule(".nbstream-chat .nbstream-chat-log");
		expect(log).toMatch(/overflow-y:\s*auto/);
		expect(log).toMatch(/overscroll-behavior:\s*contain/);
	});

	it("takes colours from JupyterLab's variables, with light and dark fallbacks", () => {
		const flat = source.replace(/\s+/g, "");
		expect(flat).toContain("var(--jp-warn-color1,var(--vscode-editorWarning-foreground,var(--amber-11,");
		expect(flat).toContain("var(--jp-layout-color0,var(--vscode-editor-background,var(--background,");
		expect(source).toContain("@media (prefers-color-scheme: dark)");
		expect(rule(".nbstream-chat .nbstream-flag")).toMatch(/var\(--nbs-warn\)/);
	});

	it("drops its transitions when the user prefers reduced motion", () => {
		const block = source.slice(source.indexOf("@media (prefers-reduced-motion: reduce)"));
		expect(block).toMatch(/transition:\s*none/);
		for (const match of source.matchAll(/\n\t(\.[^{]+)\{[^}]*transition:\s*(?!none)/g)) {
			expect(block, match[1]).toContain((match[1] as string).split(",")[0]?.trim());
		}
	});
});
