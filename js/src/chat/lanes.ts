/**
 * The chat's delivery protocol, bound to a model (anywidget's `initialize`, once per
 * model). Each lane is a separate text with its own LiveText binding (../live-binding.ts):
 * lane "text" is mirrored into `_live_text`, lane "reasoning" into `_live_reasoning`.
 *
 * A lane's `end` or `sync` only settles that lane's text: whether the turn is still
 * streaming, and how it ended, comes with the `_turns` update that follows.
 */
import { bindLiveText } from "../live-binding";
import type { ChatModel, Lane } from "./types";

const ATTRIBUTES = { text: "_live_text", reasoning: "_live_reasoning" } as const;
const LANES = Object.keys(ATTRIBUTES) as Lane[];

/** The lane a kernel message is about; messages without one belong to "text". */
function laneOf(message: unknown): Lane | null {
	if (typeof message !== "object" || message === null) return null;
	const lane = (message as { lane?: unknown }).lane ?? "text";
	return lane === "text" || lane === "reasoning" ? lane : null;
}

export function connectLanes(model: ChatModel): () => void {
	const unbinders = LANES.map((lane) =>
		bindLiveText(model, {
			attribute: ATTRIBUTES[lane],
			accepts: (message) => laneOf(message) === lane,
			resync: (stream) => ({ kind: "resync", lane, stream }),
		}),
	);
	return () => {
		for (const unbind of unbinders) unbind();
	};
}
