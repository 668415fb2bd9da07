/**
 * Turning untrusted kernel values into display strings. Nothing here builds HTML:
 * callers put the results in the page as text.
 */
import type { TurnStats } from "./types";

/** The value if it is a string, else "" (the kernel's values are checked, not trusted). */
export const str = (value: unknown): string => (typeof value === "string" ? value : "");

/** JSON pretty-printed if `raw` parses, else `raw` itself. */
export function prettyJson(raw: string): string {
	try {
		return JSON.stringify(JSON.parse(raw), null, 2) ?? raw;
	} catch {
		return raw;
	}
}

function isNumber(value: unknown): value is number {
	return typeof value === "number" && Number.isFinite(value);
}

export function seconds(value: number): string {
	return value < 10 ? `${value.toFixed(2)} s` : `${value.toFixed(1)} s`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A footer item: a name for tests and styles, its visible text and an explanation. */
export interface Stat {
	name: "ttft" | "speed" | "usage" | "finish" | "tools";
	text: string;
	title: string;
}

/**
 * Endings that deserve a visible flag rather than a footer item: two finish reasons,
 * and the turn's "stopped" status.
 */
export const FLAGS: ReadonlyMap<string, string> = new Map([
	["length", "Cut off: max tokens reached"],
	["content_filter", "Stopped by the content filter"],
	["stopped", "Stopped"],
]);

export function statsItems(stats: TurnStats | null | undefined): Stat[] {
	if (typeof stats !== "object" || stats === null) return [];
	const items: Stat[] = [];
	if (isNumber(stats.ttft)) {
		items.push({ name: "ttft", text: `first token ${seconds(stats.ttft)}`, title: "Time to first token" });
	}
	if (isNumber(stats.tokens_per_second)) {
		const estimated = stats.tokens_estimated === true;
		items.push({
			name: "speed",
			text: `${estimated ? "~" : ""}${stats.tokens_per_second.toFixed(1)} tokens/s`,
			title: estimated ? "Tokens per second, estimated from the streamed chunks" : "Tokens per second",
		});
	}
	const usage: string[] = [];
	if (isNumber(stats.prompt_tokens)) usage.push(`${stats.prompt_tokens} prompt`);
	if (isNumber(stats.completion_tokens)) usage.push(`${stats.completion_tokens} completion`);
	if (usage.length) {
		items.push({
			name: "usage",
			text: `${usage.join(" + ")} tokens`,
			title: "Token usage reported by the provider",
		});
	}
	const calls = stats.tool_calls;
	if (isNumber(calls) && calls > 0) {
		const rounds = isNumber(stats.rounds) ? stats.rounds : 1;
		items.push({
			name: "tools",
			text: `${plural(rounds, "round")} · ${plural(calls, "tool call")}`,
			title: "Tool calls",
		});
	}
	const reason = stats.finish_reason;
	if (typeof reason === "string" && reason && !FLAGS.has(reason)) {
		items.push({ name: "finish", text: `finish: ${reason}`, title: "Why the model stopped" });
	}
	return items;
}
