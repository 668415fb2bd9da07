/**
 * Tool calls as cards inside the assistant turn that made them, and tool turns that
 * answer no call as standalone result cards. Names, arguments and results come from
 * the model or the tool and are untrusted: they only ever go in as text.
 */
import { button, element, setText } from "../dom";
import { prettyJson, seconds, str } from "./format";
import type { MessageHost } from "./message";
import type { ToolCall, Turn } from "./types";

/** The preview's length: the model got the whole result, the page needs only a taste. */
const PREVIEW = 2000;
const FINAL = ["done", "error", "denied", "cancelled"];
const WORDS: Record<string, string> = { waiting: "waiting for approval", error: "failed" };

function head(label: string, name: string): HTMLDivElement {
	const el = element("div", "nbstream-tool-head");
	el.append(element("span", "nbstream-tool-label", label));
	if (name) el.append(" ", element("code", "nbstream-tool-name", name));
	return el;
}

function fold(summary: string, pre: HTMLPreElement): HTMLDetailsElement {
	const el = element("details", "nbstream-tool-fold");
	el.append(element("summary", "", summary), pre);
	return el;
}

export interface ToolCard {
	root: HTMLDivElement;
	/** `turn` is the tool turn answering the call, if any yet. Cheap when nothing changed. */
	update(call: ToolCall, turn: Turn | undefined): void;
}

/** One call's card. It keeps its DOM (open folds, focus) and updates it in place. */
export function toolCard(host: MessageHost): ToolCard {
	const root = element("div", "nbstream-tool-call nbstream-tool-card");
	const nameEl = element("code", "nbstream-tool-name");
	const statusEl = element("span", "nbstream-tool-status");
	const args = element("pre", "nbstream-tool-args");
	const output = element("pre", "nbstream-tool-output");
	const note = element("div", "nbstream-tool-note");
	const approve = element("div", "nbstream-tool-approve");
	const result = fold("Result", output);
	const argsFold = fold("Arguments", args);
	// Open: the arguments are what the user judges a call by, before Allow.
	argsFold.open = true;
	const top = head("Tool call", "");
	top.append(" ", nameEl, " ", statusEl);
	root.append(top, argsFold, approve, result, note);
	let last: [ToolCall, Turn | undefined] | null = null;
	let name = "";
	/** When this browser first saw the call running: elapsed time counts from here. */
	let since = 0;
	/** Set once a final status is known: announced, or already final when first seen (old news). */
	let announced: boolean | undefined;

	const buttons = (disabled: boolean): void => {
		for (const b of approve.querySelectorAll("button")) b.disabled = disabled;
	};

	const draw = (call: ToolCall, turn: Turn | undefined, status: string): void => {
		last = [call, turn];
		const id = str(call.id);
		root.dataset.callId = id;
		root.dataset.status = status;
		name = str(call.name) || "(unnamed)";
		setText(nameEl, name);
		setText(args, prettyJson(str(call.arguments)));
		const text = prettyJson(str(turn?.content));
		const rest = text.length - PREVIEW;
		result.hidden = !text;
		setText(output, rest > 0 ? `${text.slice(0, PREVIEW)}\n… ${rest} more characters` : text);
		setText(note, str(turn?.note));
		note.hidden = !note.textContent;
		approve.hidden = status !== "waiting";
		if (approve.hidden) approve.replaceChildren();
		// A new state for the card: the kernel has seen the click (or never got it).
		else if (approve.childElementCount) buttons(false);
		else
			for (const word of ["Allow", "Deny"]) {
				const action = word.toLowerCase();
				const el = button("", `${word} ${name}`, word);
				el.dataset.action = action;
				el.addEventListener("click", () => {
					buttons(true);
					host.send({ kind: "approve", call_id: id, allow: action === "allow" });
				});
				approve.append(el, " ");
			}
	};

	const update = (call: ToolCall, turn: Turn | undefined): void => {
		const status = str(turn?.status) || "pending";
		const same = call === last?.[0] && turn === last[1];
		if (same && status !== "running") return;
		if (!same) draw(call, turn, status);
		let text = WORDS[status] ?? status;
		if (status === "running") {
			since ||= Date.now();
			text = `running ${Math.floor((Date.now() - since) / 1000)} s`;
		}
		const duration = turn?.duration;
		if (status === "done" && typeof duration === "number") text = `done in ${seconds(duration)}`;
		setText(statusEl, text);
		const final = FINAL.includes(status);
		if (final && announced === false) host.announce(`${name} ${text}`);
		announced = final || Boolean(announced);
	};

	return { root, update };
}

/** A tool turn that answers no call shown above it: what the tool gave back. */
export function toolResult(turn: Turn): HTMLDivElement {
	const card = element("div", "nbstream-tool-result");
	card.append(
		head("Tool result", str(turn.name)),
		element("pre", "nbstream-tool-output", prettyJson(str(turn.content))),
	);
	return card;
}
