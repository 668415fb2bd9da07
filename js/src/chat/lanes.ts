/**
 * The chat's delivery protocol, bound to a model (anywidget's `initialize`, once per
 * model). Each lane is a separate text with its own LiveText state machine; lane
 * "text" is mirrored into `_live_text`, lane "reasoning" into `_live_reasoning`,
 * locally (never saved back), so every view just reads model attributes, and a view
 * created mid-stream finds the whole text at once (as in ../channel.ts).
 *
 * A lane's `end` or `sync` only settles that lane's text: whether the turn is still
 * streaming, and how it ended, comes with the `_turns` update that follows.
 */
import { LiveText } from "../live-text";
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
	const read = (lane: Lane): string => {
		const value = model.get(ATTRIBUTES[lane]);
		return typeof value === "string" ? value : "";
	};
	const lanes = new Map(LANES.map((lane) => [lane, new LiveText(read(lane))]));
	// Our own writes fire `change:_live_*` too (synchronously); this tells them apart.
	let writing = false;

	const write = (lane: Lane, text: string): void => {
		writing = true;
		try {
			model.set(lane === "text" ? { _live_text: text } : { _live_reasoning: text });
		} finally {
			writing = false;
		}
	};

	const onMessage = (message: unknown): void => {
		const lane = laneOf(message);
		const live = lane && lanes.get(lane);
		if (!lane || !live) return;
		const effect = live.receive(message, model.get("_stream"));
		switch (effect.kind) {
			case "text":
				write(lane, live.text);
				break;
			case "commit":
				write(lane, effect.state.content);
				break;
			case "resync":
				model.send({ kind: "resync", lane, stream: effect.stream });
				break;
		}
	};

	// The kernel set a lane's text itself (a turn's opening or closing update): now the truth.
	const handlers = LANES.map((lane) => {
		const handler = (): void => {
			if (!writing) lanes.get(lane)?.reset(read(lane));
		};
		return [`change:${ATTRIBUTES[lane]}`, handler] as const;
	});
	const onStream = (): void => {
		for (const lane of LANES) lanes.get(lane)?.reset(read(lane));
	};

	model.on("msg:custom", onMessage);
	model.on("change:_stream", onStream);
	for (const [event, handler] of handlers) model.on(event, handler);
	return () => {
		model.off("msg:custom", onMessage);
		model.off("change:_stream", onStream);
		for (const [event, handler] of handlers) model.off(event, handler);
	};
}
