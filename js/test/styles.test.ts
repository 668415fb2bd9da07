import { describe, expect, it } from "vitest";
import css from "../src/styles.css?raw";

const source = css.replace(/\/\*[\s\S]*?\*\//g, "");

/** Every selector list of a style rule (not at-rules, not keyframe steps). */
function selectors(): string[] {
	const found: string[] = [];
	for (const match of source.matchAll(/([^{};]+)\{/g)) {
		const prelude = (match[1] as string).trim();
		if (prelude.startsWith("@") || /^(from|to|[\d.]+%)(\s*,\s*(from|to|[\d.]+%))*$/.test(prelude)) continue;
		found.push(...splitTopLevel(prelude));
	}
	return found;
}

/** Split a selector list at commas outside parentheses (`:is(a, b)` is one selector). */
function splitTopLevel(list: string): string[] {
	const parts: string[] = [];
	let depth = 0;
	let current = "";
	for (const char of list) {
		if (char === "(") depth++;
		if (char === ")") depth--;
		if (char === "," && depth === 0) {
			parts.push(current.trim());
			current = "";
		} else {
			current += char;
		}
	}
	parts.push(current.trim());
	return parts;
}

describe("styles", () => {
	it("scopes every rule under .nbstream-view", () => {
		const all = selectors();
		expect(all.length).toBeGreaterThan(20);
		for (const selector of all) expect(selector).toMatch(/^\.nbstream-view\b/);
	});

	it("stops blinking and pulsing when the user prefers reduced motion", () => {
		const block = source.slice(source.indexOf("@media (prefers-reduced-motion: reduce)"));
		expect(block).toMatch(/\.nbstream-cursor[\s\S]*animation:\s*none/);
	});

	it("takes colours from JupyterLab's variables, then VS Code's, then marimo's, then its own", () => {
		const flat = source.replace(/\s+/g, "");
		for (const chain of [
			"--jp-content-font-color1,var(--vscode-editor-foreground,var(--foreground,var(--nbs-0-fg)",
			"--jp-layout-color2,var(--vscode-textCodeBlock-background,var(--slate-3,var(--nbs-0-soft)",
			"--jp-border-color1,var(--vscode-panel-border,var(--slate-7,var(--nbs-0-border)",
			"--jp-error-color1,var(--vscode-errorForeground,var(--red-11,var(--nbs-0-error)",
		]) {
			expect(flat).toContain(`var(${chain}`);
		}
		// The last resort follows the browser's light or dark preference.
		expect(flat).toMatch(/@media\(prefers-color-scheme:dark\)\{\.nbstream-view\{--nbs-0-fg:/);
	});
});
