/**
 * Copy text to the clipboard. The async Clipboard API needs a secure context and may
 * be refused (an iframe without the permission, an old browser); then fall back to a
 * hidden textarea and `execCommand("copy")`, which still works in most of them.
 */
export async function copyText(text: string, host: HTMLElement): Promise<boolean> {
	try {
		if (navigator.clipboard?.writeText) {
			await navigator.clipboard.writeText(text);
			return true;
		}
	} catch {
		// Refused: try the old way below.
	}
	return copyWithSelection(text, host);
}

function copyWithSelection(text: string, host: HTMLElement): boolean {
	const area = document.createElement("textarea");
	area.value = text;
	area.setAttribute("readonly", "");
	area.setAttribute("aria-hidden", "true");
	area.tabIndex = -1;
	// Fixed at the viewport's corner: selecting it must not scroll the notebook.
	area.style.cssText = "position:fixed;top:0;left:0;width:1px;height:1px;opacity:0;pointer-events:none";
	const focused = document.activeElement;
	host.append(area);
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
