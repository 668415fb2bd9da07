/**
 * The relay page's reader: an event cut anywhere across reads (inside a line, a CRLF
 * pair, or a UTF-8 character) reads the same as one read whole; the seed's client got
 * both wrong (no line buffering, no streaming decode).
 */
import { describe, expect, it } from "vitest";
import { type RelayEvent, RelayEvents } from "../src/relay/events";
import { PageModel } from "../src/relay/model";

const BODY = [
	": keep-alive",
	"",
	'data: {"reasoning": "Think 🤔 first"}',
	"",
	'data: {"content": "Grüße — "}',
	"",
	'data: {"content": "👋🏽 done"}',
	"",
	"data: {",
	'data: "content": " two lines"}',
	"",
	'data: {"done": true, "finish_reason": "stop", "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}',
	"",
	"",
].join("\r\n");

function readAt(bytes: Uint8Array, cuts: number[]): RelayEvent[] {
	const reader = new RelayEvents();
	const events: RelayEvent[] = [];
	let start = 0;
	for (const cut of [...cuts, bytes.length]) {
		events.push(...reader.feed(bytes.subarray(start, cut)));
		start = cut;
	}
	events.push(...reader.end());
	return events;
}

describe("RelayEvents", () => {
	const bytes = new TextEncoder().encode(BODY);
	const whole = readAt(bytes, []);

	it("reads every event of a whole body", () => {
		expect(whole).toEqual([
			{ reasoning: "Think 🤔 first" },
			{ content: "Grüße — " },
			{ content: "👋🏽 done" },
			{ content: " two lines" },
			{
				done: true,
				finish_reason: "stop",
				usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
			},
		]);
	});

	it("reads the same cut at every single byte", () => {
		const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
		expect(readAt(bytes, cuts)).toEqual(whole);
	});

	it("reads the same at random cuts, many inside UTF-8 sequences", () => {
		let seed = 7;
		const random = (): number => {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed / 2147483648;
		};
		for (let round = 0; round < 200; round++) {
			const cuts = new Set<number>();
			const count = 1 + Math.floor(random() * 12);
			while (cuts.size < count) cuts.add(1 + Math.floor(random() * (bytes.length - 1)));
			expect(
				readAt(
					bytes,
					[...cuts].sort((a, b) => a - b),
				),
			).toEqual(whole);
		}
	});

	it("takes LF and lone CR line endings too", () => {
		for (const ending of ["\n", "\r"]) {
			const body = new TextEncoder().encode(`data: {"content": "a"}${ending}${ending}`);
			expect(readAt(body, [body.length - 1])).toEqual([{ content: "a" }]);
		}
	});

	it("drops an event cut off before its blank line", () => {
		const body = new TextEncoder().encode('data: {"content": "a"}\n\ndata: {"content": "b"}');
		expect(readAt(body, [])).toEqual([{ content: "a" }]);
	});

	it("throws on an event that is not JSON", () => {
		const reader = new RelayEvents();
		expect(() => reader.feed(new TextEncoder().encode("data: {oops\n\n"))).toThrow(SyntaxError);
	});
});

describe("PageModel", () => {
	it("fires each changed trait's event once, after every value is set", () => {
		const model = new PageModel();
		const seen: string[] = [];
		model.on("change:content", () =>
			seen.push(`content=${model.get("content")}:${model.get("is_streaming")}`),
		);
		model.on("change:is_streaming", () => seen.push(`streaming=${model.get("is_streaming")}`));
		model.set({ content: "Hi", is_streaming: true });
		model.set({ content: "Hi" }); // unchanged: no event
		expect(seen).toEqual(["content=Hi:true", "streaming=true"]);
		model.off("change:content");
		model.set({ content: "Bye" });
		expect(seen).toHaveLength(2);
	});
});
