/**
 * What a view shows when the kernel goes away mid-stream (a restart, a shutdown, a
 * lost connection). The widget manager then marks the model's comm as not live and
 * fires `comm_live_update`; nothing else would ever end the stream, so the cursor
 * would blink forever. Instead the stream ends locally, the text so far stays, and the
 * error says what happened. Nothing is sent: there is no kernel to send to.
 */
import type { ChatModel, Turn } from "./chat/types";
import type { StreamModel } from "./types";

export const DISCONNECTED =
	"Disconnected from the kernel while streaming (it was restarted or stopped); the text so far is kept.";

/** End a StreamView's stream locally when its kernel goes away. Returns the unsubscriber. */
export function endStreamOnDisconnect(model: StreamModel): () => void {
	const onLive = (): void => {
		if (!model.get("is_streaming")) return;
		model.set({ is_streaming: false, error: DISCONNECTED });
	};
	model.on("comm_live_update", onLive);
	return () => model.off("comm_live_update", onLive);
}

/** End a Chat's streaming answer locally when its kernel goes away. */
export function endAnswerOnDisconnect(model: ChatModel): () => void {
	const onLive = (): void => {
		if (!model.get("is_streaming")) return;
		const turns = Array.isArray(model.get("_turns")) ? model.get("_turns") : [];
		const text = model.get("_live_text");
		const reasoning = model.get("_live_reasoning");
		const ended = turns.map((turn): Turn => {
			if (turn.status !== "streaming") return turn;
			const kept: Turn = { ...turn, content: typeof text === "string" ? text : "", status: "error" };
			if (typeof reasoning === "string" && reasoning) kept.reasoning = reasoning;
			kept.error = DISCONNECTED;
			return kept;
		});
		model.set({ _turns: ended, is_streaming: false });
	};
	model.on("comm_live_update", onLive);
	return () => model.off("comm_live_update", onLive);
}
