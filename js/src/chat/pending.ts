/**
 * Files the reader attached to the message being written: from the Attach button, a
 * paste or a drop. Each shows as a chip with a remove button until the message is sent;
 * then their bytes go to the kernel once, as the message's binary buffers, and the
 * kernel converts and checks them (nbstream/chat/widget.py) like `chat.send(...,
 * attachments=...)`.
 */
import { button, element } from "../dom";
import { formatSize, ICONS } from "./attachments";

/** What the browser sends of each file beside its bytes. */
export interface FileHeader {
	name: string;
	type: string;
}

/** Larger files are refused here, before they cross the websocket (the kernel's own
 * limits, smaller for images, are checked there). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

export function fileKind(file: File): "image" | "table" | "text" {
	if (file.type.startsWith("image/")) return "image";
	if (/\.(csv|tsv)$/i.test(file.name) || file.type === "text/csv") return "table";
	return "text";
}

export class PendingFiles {
	readonly root: HTMLUListElement;
	#files: { file: File; chip: HTMLElement; url: string }[] = [];
	readonly #onChange: () => void;
	readonly #refuse: (text: string) => void;

	constructor(onChange: () => void, refuse: (text: string) => void) {
		this.root = element("ul", "nbstream-attachments nbstream-pending");
		this.root.setAttribute("aria-label", "Attachments to send");
		this.root.hidden = true;
		this.#onChange = onChange;
		this.#refuse = refuse;
	}

	get count(): number {
		return this.#files.length;
	}

	add(files: Iterable<File>): void {
		for (const file of files) {
			if (file.size > MAX_FILE_BYTES) {
				this.#refuse(
					`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; files up to 20 MB can be attached.`,
				);
				continue;
			}
			const kind = fileKind(file);
			const chip = element("li", "nbstream-attachment");
			chip.dataset.kind = kind;
			// The reader's own file, shown from a local blob: URL; nothing is fetched.
			const url = kind === "image" ? URL.createObjectURL(file) : "";
			if (url) {
				const img = document.createElement("img");
				img.className = "nbstream-attachment-thumb";
				img.src = url;
				img.alt = "";
				chip.append(img);
			} else {
				chip.append(element("span", "nbstream-attachment-icon", ICONS[kind]));
			}
			const remove = button("nbstream-attachment-remove", `Remove ${file.name}`, "×");
			chip.append(
				element("span", "nbstream-attachment-name", file.name),
				element("span", "nbstream-attachment-detail", formatSize(file.size)),
				remove,
			);
			const entry = { file, chip, url };
			remove.addEventListener("click", () => this.#remove(entry));
			this.#files.push(entry);
			this.root.append(chip);
		}
		this.#changed();
	}

	/** The files' headers and bytes, and the list emptied. */
	async take(): Promise<{ headers: FileHeader[]; buffers: ArrayBuffer[] }> {
		const files = this.#files.map((entry) => entry.file);
		this.clear();
		const buffers = await Promise.all(files.map((file) => file.arrayBuffer()));
		return { headers: files.map((file) => ({ name: file.name, type: file.type })), buffers };
	}

	clear(): void {
		for (const entry of this.#files) if (entry.url) URL.revokeObjectURL(entry.url);
		this.#files = [];
		this.root.replaceChildren();
		this.#changed();
	}

	#remove(entry: { file: File; chip: HTMLElement; url: string }): void {
		this.#files = this.#files.filter((e) => e !== entry);
		entry.chip.remove();
		if (entry.url) URL.revokeObjectURL(entry.url);
		this.#changed();
	}

	#changed(): void {
		this.root.hidden = this.#files.length === 0;
		this.#onChange();
	}
}
