/**
 * Tool calls and tool results as cards. Names and arguments come from the model and
 * are untrusted: they go in as text, the arguments pretty-printed when they are JSON.
 */
import { element } from "../dom";
import { prettyJson, str } from "./format";
import type { ToolCall, Turn } from "./types";

function head(label: string, name: string): HTMLDivElement {
	const el = element("div", "nbstream-tool-head");
	el.append(element("span", "nbstream-tool-label", label));
	if (name) el.append(" ", element("code", "nbstream-tool-name", name));
	return el;
}

/** The calls an answer made, one card each. */
export function toolCalls(tools: ToolCall[]): HTMLDivElement {
	const container = element("div", "nbstream-tools");
	for (const call of tools) {
		const card = element("div", "nbstream-tool-call");
		card.append(head("Tool call", str(call.name) || "(unnamed)"));
		const args = str(call.arguments);
		if (args) card.append(element("pre", "nbstream-tool-args", prettyJson(args)));
		container.append(card);
	}
	return container;
}

/** A tool turn: what the tool gave back. */
export function toolResult(turn: Turn): HTMLDivElement {
	const card = element("div", "nbstream-tool-result");
	card.append(
		head("Tool result", str(turn.name)),
		element("pre", "nbstream-tool-output", prettyJson(str(turn.content))),
	);
	return card;
}
