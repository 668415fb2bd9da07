/**
 * Flips per answer: how often, streamed one character at a time, the view shows raw
 * markup that the final render hides and then flips it to formatting. Measured without
 * the tail repair (each prefix rendered as it is, as the view did before) and with it.
 */
import { expect, it } from "vitest";
import { markdownToHtml } from "../src/markdown";
import { MarkdownView } from "../src/markdown-view";
import { sanitizedFragment } from "../src/sanitize";
import { DOCUMENTS } from "./markdown-corpus";

const MARKUP = ["*", "_", "~", "`", "[", "]", "|"];

function plain(text: string): string {
	const el = document.createElement("div");
	el.append(sanitizedFragment(markdownToHtml(text)));
	return el.textContent ?? "";
}

/** Frames that show a markup character more often than the final render does. */
function rawFrames(frames: string[], final: string): boolean[] {
	const count = (text: string, char: string): number => text.split(char).length - 1;
	return frames.map((frame) => MARKUP.some((char) => count(frame, char) > count(final, char)));
}

/** Raw → formatted transitions. */
function flips(raw: boolean[]): number {
	return raw.filter((isRaw, i) => isRaw && raw[i + 1] === false).length;
}

it("the tail repair takes the flips per answer to zero", () => {
	const rows: string[] = [];
	let before = 0;
	let after = 0;
	for (const [name, text] of Object.entries(DOCUMENTS)) {
		if (name === "late reference definition") continue; // see tail-repair.test.ts
		const final = plain(text);
		const prefixes = Array.from({ length: text.length }, (_, i) => text.slice(0, i + 1));
		const view = new MarkdownView(document.createElement("div"));
		const repaired = prefixes.map((prefix) => {
			view.update(prefix, true);
			return view.element.textContent ?? "";
		});
		const b = flips(rawFrames(prefixes.map(plain), final));
		const a = flips(rawFrames(repaired, final));
		rows.push(`${name}: ${b} → ${a}`);
		before += b;
		after += a;
	}
	console.log(
		`flips per answer, before → after the tail repair:\n${rows.join("\n")}\ntotal: ${before} → ${after}`,
	);
	expect(before).toBeGreaterThan(20);
	expect(after).toBe(0);
});
