/** Small DOM builders and checks that both views use. Text always goes in as text, never as HTML. */

/** A new element with a class and, optionally, text. */
export function element<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	className: string,
	text?: string,
): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag);
	if (className) el.className = className;
	if (text !== undefined) el.textContent = text;
	return el;
}

/** A button that submits no form, with a label for screen readers. */
export function button(className: string, label: string, text: string): HTMLButtonElement {
	const el = element("button", className, text);
	el.type = "button";
	el.setAttribute("aria-label", label);
	return el;
}

/** Set `el`'s text only when it differs: views redraw every frame while text streams. */
export function setText(el: HTMLElement, text: string): void {
	if (el.textContent !== text) el.textContent = text;
}

/**
 * A polite live region. It must be in the page before its text changes, or screen
 * readers announce nothing.
 */
export function liveRegion(className: string): HTMLDivElement {
	const el = element("div", className);
	el.setAttribute("role", "status");
	el.setAttribute("aria-live", "polite");
	return el;
}

/** The "waiting for the model" dots, with words for screen readers. */
export function waitingDots(): HTMLDivElement {
	const waiting = element("div", "nbstream-waiting");
	const dots = element("span", "nbstream-dots");
	dots.setAttribute("aria-hidden", "true");
	dots.append(element("span", ""), element("span", ""), element("span", ""));
	waiting.append(dots, element("span", "nbstream-sr-only", "Waiting for the model…"));
	return waiting;
}

/** An Enter that only confirms an IME composition must not send (Safari reports it as keyCode 229). */
export function composing(event: KeyboardEvent): boolean {
	return event.isComposing || event.keyCode === 229;
}

/**
 * Run `then` once `node` is in the page, checking each frame for up to `frames` (~10 s).
 * An output's element is handed to a view before JupyterLab puts it in the page, and
 * focus or scroll positions set before that are ignored.
 */
export function whenConnected(node: Node, then: () => void, frames = 600): void {
	if (node.isConnected) then();
	else if (frames > 0 && typeof requestAnimationFrame === "function")
		requestAnimationFrame(() => whenConnected(node, then, frames - 1));
}
