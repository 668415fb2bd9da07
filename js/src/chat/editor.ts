/**
 * The box that edits a sent message in place. Enter sends and Escape cancels, as in
 * the composer; the message that opens it decides what both do.
 */
import { button, composing, element } from "../dom";

export interface EditBox {
	root: HTMLDivElement;
	area: HTMLTextAreaElement;
}

export function editBox(text: string, disabled: boolean, send: () => void, cancel: () => void): EditBox {
	const root = element("div", "nbstream-edit-box");
	const area = element("textarea", "nbstream-edit-input");
	area.value = text;
	area.rows = Math.min(8, Math.max(2, area.value.split("\n").length));
	area.setAttribute("aria-label", "Edited message");
	const sendButton = button("nbstream-edit-send", "Send edit", "Send edit");
	const cancelButton = button("nbstream-edit-cancel", "Cancel", "Cancel");
	sendButton.disabled = disabled;
	const buttons = element("div", "nbstream-edit-buttons");
	buttons.append(sendButton, cancelButton);
	root.append(area, buttons);

	sendButton.addEventListener("click", send);
	cancelButton.addEventListener("click", cancel);
	area.addEventListener("keydown", (event) => {
		if (event.key === "Enter" && !event.shiftKey && !composing(event)) {
			event.preventDefault();
			send();
		} else if (event.key === "Escape") {
			event.preventDefault();
			cancel();
		}
	});
	return { root, area };
}
