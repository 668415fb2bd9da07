/**
 * Copy text to the clipboard. The async Clipboard API needs a secure context and may
 * be refused (an iframe without the permission, an old browser); then fall back to a
 * hidden textarea and `execCommand("copy")`, which still works in most of them. With
 * `html`, the clipboard gets it as `text/html` beside the plain `text`.
 */
export async function copyText(text: string, host: HTMLElement, html?: string): Promise<boolean> {
	try {
		if (html !== undefined && navigator.clipboard?.write && typeof ClipboardItem !== "undefined") {
			// Both flavours: an email or a document takes the formatted one, a terminal the plain.
			const item = new ClipboardItem({
				"text/html": new Blob([html], { type: "text/html" }),
				"text/plain": new Blob([text], { type: "text/plain" }),
			});
			await navigator.clipboard.write([item]);
			return true;
		}
		if (navigator.clipboard?.writeText) {
			await navigator.clipboard.writeText(text);
			return true;
		}
	} catch {
		// Refused: try the old way below.
	}
	return copyWithSelection(text, host, html);
}

function copyWithSelection(text: string, host: HTMLElement, html?: string): boolean {
	const area = document.createElement("textarea");
	area.value = text;
	area.setAttribute("readonly", "");
	area.setAttribute("aria-hidden", "true");
	area.tabIndex = -1;
	// Fixed at the viewport's corner: selecting it must not scroll the notebook.
	area.style.cssText = "position:fixed;top:0;left:0;width:1px;height:1px;opacity:0;pointer-events:none";
	const focused = document.activeElement;
	host.append(area);
	// The copy event may set both flavours; the selection gives the plain one otherwise.
	const both = (event: ClipboardEvent): void => {
		if (html === undefined || !event.clipboardData) return;
		event.clipboardData.setData("text/plain", text);
		event.clipboardData.setData("text/html", html);
		event.preventDefault();
	};
	area.addEventListener("copy", both);
	let copied = false;
	try {
		area.focus({ preventScroll: true });
		area.select();
		copied = document.execCommand("copy");
	} catch {
		copied = false;
	} finally {
		area.remove();
		if (focused instanceof HTMLElement) focused.focus({ preventScroll: true });
	}
	return copied;
}
