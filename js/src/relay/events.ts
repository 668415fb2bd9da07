/**
 * Reading the relay's server-sent events (docs/relay.md) from a fetch body: the two
 * defects of the seed's client fixed. Bytes are decoded with one TextDecoder in
 * streaming mode, so a character split across reads is not corrupted; lines are
 * buffered across reads, so an event split across reads is parsed whole.
 */

/** One event's JSON, as the relay sends it. */
export interface RelayEvent {
	content?: string;
	reasoning?: string;
	done?: boolean;
	finish_reason?: string | null;
	usage?: {
		prompt_tokens?: number | null;
		completion_tokens?: number | null;
		total_tokens?: number | null;
	} | null;
	error?: string;
}

export class RelayEvents {
	readonly #decoder = new TextDecoder("utf-8");
	#pending = "";
	#data: string[] = [];
	/** The last read ended with "\r": a "\n" opening the next one is the same line end. */
	#cr = false;

	/** The events that `bytes` completes (in order); malformed JSON throws. */
	feed(bytes: Uint8Array): RelayEvent[] {
		return this.#text(this.#decoder.decode(bytes, { stream: true }));
	}

	/** The body ended: what the decoder still held (an event without its blank line is dropped). */
	end(): RelayEvent[] {
		return this.#text(this.#decoder.decode());
	}

	#text(text: string): RelayEvent[] {
		let piece = text;
		if (this.#cr && piece.startsWith("\n")) piece = piece.slice(1);
		this.#cr = piece.endsWith("\r");
		const lines = (this.#pending + piece).replace(/\r\n?/g, "\n").split("\n");
		this.#pending = lines.pop() ?? "";
		const events: RelayEvent[] = [];
		for (const line of lines) {
			const event = this.#line(line);
			if (event !== null) events.push(event);
		}
		return events;
	}

	#line(line: string): RelayEvent | null {
		if (line === "") {
			const data = this.#data.join("\n");
			this.#data = [];
			if (data === "") return null;
			const parsed: unknown = JSON.parse(data);
			return typeof parsed === "object" && parsed !== null ? (parsed as RelayEvent) : null;
		}
		const colon = line.indexOf(":");
		const field = colon < 0 ? line : line.slice(0, colon);
		if (field === "data") {
			const value = colon < 0 ? "" : line.slice(colon + 1);
			this.#data.push(value.startsWith(" ") ? value.slice(1) : value);
		}
		return null; // comments (heartbeats), event:, id:, retry:
	}
}
