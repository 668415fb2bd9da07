/**
 * The relay's chat page (nbstream/relay/page.py serves it at GET /): the seed's
 * `useStreamingChat` client, done right. Each answer renders in nbstream's StreamView
 * (sanitized incremental markdown, the cursor, the error kept under the partial text);
 * Stop aborts the fetch, which makes the relay close its upstream; the body is read
 * with streaming UTF-8 decoding and buffered lines (events.ts).
 */
import { element, setText } from "../dom";
import type { Traits } from "../types";
import { StreamView } from "../view";
import { type RelayEvent, RelayEvents } from "./events";
import { PageModel } from "./model";

/** How an answer ended: the traits the view shows it by. */
type Ending = Pick<Partial<Traits>, "finish_reason" | "usage" | "error">;

interface Message {
	role: "user" | "assistant";
	content: string;
}

/** The relay's own paths, relative to the page, so it works mounted anywhere. */
const STREAM_URL = "api/chat/stream";
const MODELS_URL = "api/chat/models";

class RelayPage {
	readonly #log: HTMLElement;
	readonly #form: HTMLFormElement;
	readonly #input: HTMLTextAreaElement;
	readonly #send: HTMLButtonElement;
	readonly #stop: HTMLButtonElement;
	readonly #model: HTMLSelectElement;
	readonly #history: Message[] = [];
	#abort: AbortController | null = null;
	#answers = 0;

	constructor(root: Document) {
		this.#log = root.querySelector(".relay-log") as HTMLElement;
		this.#form = root.querySelector(".relay-composer") as HTMLFormElement;
		this.#input = this.#form.querySelector("textarea") as HTMLTextAreaElement;
		this.#send = this.#form.querySelector(".relay-send") as HTMLButtonElement;
		this.#stop = this.#form.querySelector(".relay-stop") as HTMLButtonElement;
		this.#model = root.querySelector("select[name=model]") as HTMLSelectElement;
		this.#form.addEventListener("submit", (event) => {
			event.preventDefault();
			void this.ask();
		});
		this.#input.addEventListener("keydown", (event) => {
			if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
				event.preventDefault();
				this.#form.requestSubmit();
			}
		});
		this.#stop.addEventListener("click", () => this.#abort?.abort());
		void this.#loadModels();
	}

	async #loadModels(): Promise<void> {
		try {
			const reply = await fetch(MODELS_URL);
			const { models, default: chosen } = (await reply.json()) as { models: string[]; default: string };
			for (const name of models) {
				const option = element("option", "");
				option.value = name;
				setText(option, name);
				this.#model.append(option);
			}
			this.#model.value = chosen;
		} catch {
			this.#model.disabled = true; // the relay's default model is asked
		}
	}

	async ask(): Promise<void> {
		const question = this.#input.value.trim();
		if (question === "" || this.#abort !== null) return;
		this.#input.value = "";
		this.#history.push({ role: "user", content: question });
		const turn = element("div", "relay-turn relay-user");
		setText(turn, question);
		this.#log.append(turn);

		const answer = element("div", "relay-turn relay-assistant");
		const thinking = element("details", "relay-reasoning");
		const summary = element("summary", "", "Reasoning");
		const thought = element("div", "relay-reasoning-text");
		thinking.append(summary, thought);
		thinking.hidden = true;
		answer.append(thinking);
		this.#log.append(answer);
		const model = new PageModel();
		const view = new StreamView(model, answer);
		this.#answers += 1;
		model.set({ _stream: this.#answers, content: "", is_streaming: true, error: null });
		answer.scrollIntoView({ block: "end" });

		const abort = new AbortController();
		this.#abort = abort;
		this.#busy(true);
		let content = "";
		let reasoning = "";
		const show = (event: RelayEvent): void => {
			if (typeof event.reasoning === "string") {
				reasoning += event.reasoning;
				setText(thought, reasoning);
				thinking.hidden = false;
			}
			if (typeof event.content === "string") {
				content += event.content;
				model.set({ content });
			}
		};
		try {
			const ended = await this.#stream(abort.signal, show);
			model.set({ is_streaming: false, ...ended });
		} catch (error) {
			const stopped = abort.signal.aborted;
			model.set({ is_streaming: false, error: stopped ? null : describe(error) });
			if (stopped) {
				const note = element("div", "relay-note");
				setText(note, "Stopped.");
				answer.append(note);
			}
		} finally {
			view.flush();
			// What was said stays in the conversation, even cut short.
			this.#history.push({ role: "assistant", content });
			this.#abort = null;
			this.#busy(false);
			this.#input.focus();
		}
	}

	/** Read one answer; resolves with how it ended, or throws (an abort, an error). */
	async #stream(signal: AbortSignal, show: (event: RelayEvent) => void): Promise<Ending> {
		const body: { messages: Message[]; model?: string } = { messages: this.#history };
		if (this.#model.value) body.model = this.#model.value;
		const reply = await fetch(STREAM_URL, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify(body),
			signal,
		});
		if (!reply.ok || reply.body === null) {
			const detail = await reply.json().then(
				(data: { error?: string }) => data.error,
				() => undefined,
			);
			return { error: `HTTP ${reply.status}: ${detail ?? reply.statusText}` };
		}
		const events = new RelayEvents();
		const reader = reply.body.getReader();
		for (;;) {
			const { done, value } = await reader.read();
			for (const event of done ? events.end() : events.feed(value)) {
				if (typeof event.error === "string") return { error: event.error };
				show(event);
				if (event.done === true) {
					await reader.cancel(); // nothing counts after done
					const ending: Ending = { finish_reason: event.finish_reason ?? "stop", error: null };
					return { ...ending, usage: event.usage ?? null };
				}
			}
			if (done)
				return { error: "The relay's stream ended before its done event: the answer may be cut short." };
		}
	}

	#busy(busy: boolean): void {
		this.#send.hidden = busy;
		this.#stop.hidden = !busy;
		this.#input.disabled = false;
	}
}

function describe(error: unknown): string {
	if (error instanceof SyntaxError) return `The relay sent an event that is not JSON: ${error.message}`;
	return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

if (typeof document !== "undefined" && document.querySelector(".relay-page") !== null) {
	new RelayPage(document);
}
