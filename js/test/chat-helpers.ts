/**
 * A fake Chat model and the kernel's side of docs/chat-protocol.md, acted out the way
 * the spec says: one state update to start a turn, lane deltas, lane ends, one state
 * update to finish it.
 */
import type { ChatModel, ChatRequest, ChatTraits, Lane, ToolCall, Turn } from "../src/chat/types";
import { FakeModelOf } from "./fake-model";

export class FakeChatModel extends FakeModelOf<ChatTraits, ChatRequest> implements ChatModel {
	constructor(state: Partial<ChatTraits> = {}) {
		super({
			_turns: [],
			system: null,
			model_name: "nbstream-local",
			backend: "local model",
			is_streaming: false,
			_stream: 0,
			_live_text: "",
			_live_reasoning: "",
			_live_tools: [],
			...state,
		});
	}
}

export const STATS = {
	model: "nbstream-local",
	ttft: 0.31,
	duration: 2.4,
	tokens_per_second: 58.2,
	tokens_estimated: false,
	prompt_tokens: 12,
	completion_tokens: 140,
	finish_reason: "stop",
};

export function user(id: number, content: string): Turn {
	return { id, role: "user", content };
}

export function answer(id: number, content: string, extra: Partial<Turn> = {}): Turn {
	return {
		id,
		role: "assistant",
		content,
		status: "done",
		reasoning: "",
		tool_calls: [],
		error: null,
		stats: STATS,
		...extra,
	};
}

const ATTRIBUTE = { text: "_live_text", reasoning: "_live_reasoning" } as const;

/** The kernel's side of one streamed answer. */
export class KernelTurn {
	readonly model: FakeChatModel;
	readonly stream: number;
	readonly id: number;
	/** What the kernel has sent per lane (the browser may hold less, after a gap). */
	readonly sent: Record<Lane, string> = { text: "", reasoning: "" };

	/** Start a turn: one state update appending the user turn (if any) and a streaming answer. */
	constructor(model: FakeChatModel, question: string | null, options: { stream?: number; id?: number } = {}) {
		this.model = model;
		const turns = model.get("_turns");
		const next = Math.max(0, ...turns.map((t) => t.id)) + 1;
		this.stream = options.stream ?? model.get("_stream") + 1;
		const added: Turn[] = question === null ? [] : [user(next, question)];
		this.id = options.id ?? next + added.length;
		added.push(answer(this.id, "", { status: "streaming", stats: null }));
		model.kernelUpdate({
			_turns: [...turns, ...added],
			_stream: this.stream,
			is_streaming: true,
			_live_text: "",
			_live_reasoning: "",
			_live_tools: [],
		});
	}

	delta(text: string, lane: Lane = "text"): void {
		const offset = this.sent[lane].length;
		this.sent[lane] += text;
		this.model.receive({ kind: "delta", lane, stream: this.stream, offset, text });
	}

	tools(tools: ToolCall[]): void {
		this.model.kernelUpdate({ _live_tools: tools });
	}

	/** End both lanes, then one state update with the final turn. */
	finish(final: Partial<Turn> = {}): Turn {
		for (const lane of ["text", "reasoning"] as const) {
			const length = this.sent[lane].length;
			this.model.receive({
				kind: "end",
				lane,
				stream: this.stream,
				offset: length,
				text: "",
				length,
				error: null,
			});
		}
		const turn = answer(this.id, this.sent.text, { reasoning: this.sent.reasoning, ...final });
		this.model.kernelUpdate({
			_turns: this.model.get("_turns").map((t) => (t.id === this.id ? turn : t)),
			is_streaming: false,
			_live_text: "",
			_live_reasoning: "",
			_live_tools: [],
		});
		return turn;
	}

	/** What the browser holds for a lane. */
	held(lane: Lane): string {
		return this.model.get(ATTRIBUTE[lane]);
	}
}
