/**
 * The baseline of benchmarks/browser_render.py: the naive way to show a growing markdown
 * text. Same delivery protocol (channel.ts), same marked renderer (markdown.ts) and same
 * sanitizer (sanitize.ts) as the shipped widget, and like it at most one redraw per
 * animation frame; but each redraw parses the whole text again and replaces all of the
 * view's DOM. Only the rendering strategy differs, so the benchmark isolates its cost.
 * It shows the same blinking cursor while streaming (a running CSS animation changes
 * how the browser schedules frames, so leaving it out would not be like for like).
 *
 * Not shipped: the benchmark bundles it with esbuild into a temporary directory.
 */
import { connect } from "../src/channel";
import { markdownToHtml } from "../src/markdown";
import { sanitizedFragment } from "../src/sanitize";
import type { StreamModel } from "../src/types";

const WATCHED = ["change:content", "change:is_streaming", "change:_stream"];

/** Elements the cursor goes into, to sit near the last character (roughly as nbstream does). */
const CONTAINERS = new Set("p h1 h2 h3 h4 h5 h6 ul ol li blockquote pre code table tbody tr td".split(" "));

function appendCursor(body: HTMLElement): void {
	const cursor = document.createElement("span");
	cursor.className = "nbstream-cursor";
	cursor.setAttribute("aria-hidden", "true");
	let target: Element = body;
	for (
		let last = body.lastElementChild;
		last && CONTAINERS.has(last.localName);
		last = last.lastElementChild
	) {
		target = last;
	}
	target.append(cursor);
}

interface Props {
	model: StreamModel;
	el: HTMLElement;
}

export default {
	initialize({ model }: Pick<Props, "model">): () => void {
		return connect(model);
	},
	render({ model, el }: Props): () => void {
		// The shipped view's classes, so the shipped CSS lays both out the same way.
		const root = document.createElement("div");
		root.className = "nbstream-view";
		const body = document.createElement("div");
		body.className = "nbstream-body";
		root.append(body);
		el.append(root);

		let frame: number | null = null;
		const draw = (): void => {
			frame = null;
			const streaming = Boolean(model.get("is_streaming"));
			const text = model.get("content") ?? "";
			root.dataset.streaming = String(streaming);
			body.replaceChildren(sanitizedFragment(markdownToHtml(text)));
			if (streaming && text) appendCursor(body);
		};
		const schedule = (): void => {
			if (frame === null) frame = requestAnimationFrame(draw);
		};
		for (const event of WATCHED) model.on(event, schedule);
		draw();
		return () => {
			for (const event of WATCHED) model.off(event, schedule);
			if (frame !== null) cancelAnimationFrame(frame);
			root.remove();
		};
	},
};
