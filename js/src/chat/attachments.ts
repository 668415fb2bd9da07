/**
 * What a user turn had attached, as chips: an image's thumbnail (from the kernel, a
 * small data: URL), a table's or a file's name and what it holds. The kernel sends only
 * these views (nbstream/attachments/read_back.py), never the data itself.
 */
import { element } from "../dom";

/** One attachment as the kernel describes it (`AttachmentView`). */
export interface AttachmentView {
	kind: "image" | "table" | "text" | string;
	name: string;
	size: number;
	detail: string;
	thumbnail: string;
}

// Only the kernel's own re-encoded thumbnails: base64 PNG, JPEG, GIF or WebP, nothing else.
const THUMBNAIL = /^data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;
/** The icon of a chip without a thumbnail. */
export const ICONS: Record<string, string> = { image: "🖼", table: "▦", text: "📄" };

/** The views of a turn's `attachments`, ignoring anything not shaped like one. */
export function attachmentViews(value: unknown): AttachmentView[] {
	if (!Array.isArray(value)) return [];
	return value.filter(
		(v): v is AttachmentView =>
			typeof v === "object" && v !== null && typeof v.name === "string" && typeof v.kind === "string",
	);
}

/** A list of chips for `views`, or null when there are none. */
export function attachmentChips(views: AttachmentView[]): HTMLElement | null {
	if (!views.length) return null;
	const list = element("ul", "nbstream-attachments");
	list.setAttribute("aria-label", views.length === 1 ? "1 attachment" : `${views.length} attachments`);
	for (const view of views) list.append(chip(view));
	return list;
}

function chip(view: AttachmentView): HTMLElement {
	const kind = ["image", "table", "text"].includes(view.kind) ? view.kind : "text";
	const item = element("li", "nbstream-attachment");
	item.dataset.kind = kind;
	const thumbnail =
		typeof view.thumbnail === "string" && THUMBNAIL.test(view.thumbnail) ? view.thumbnail : "";
	if (thumbnail) {
		const img = document.createElement("img");
		img.className = "nbstream-attachment-thumb";
		img.src = thumbnail;
		img.alt = "";
		item.append(img);
	} else {
		item.append(element("span", "nbstream-attachment-icon", ICONS[kind] ?? "📄"));
	}
	const detail = [typeof view.detail === "string" ? view.detail : "", formatSize(view.size)]
		.filter(Boolean)
		.join(" · ");
	item.append(element("span", "nbstream-attachment-name", view.name));
	if (detail) item.append(element("span", "nbstream-attachment-detail", detail));
	item.title = detail ? `${view.name} (${detail})` : view.name;
	return item;
}

/** "12 B", "2.2 kB", "1.0 MB"; "" for no size. */
export function formatSize(bytes: unknown): string {
	if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes <= 0) return "";
	if (bytes < 1024) return `${bytes} B`;
	if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} kB`;
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
