/**
 * The code each widget instance carries in Jupyter: a few hundred bytes that load the
 * real bundle (index.ts) from the kernel's one Bundle model (nbstream/bundle.py).
 *
 * anywidget stores a widget's `_esm` and `_css` in every instance's saved state, so ten
 * `%%chat` cells used to save ten copies of the bundle. Now the notebook saves it once,
 * in the Bundle model each widget names in `_bundle`, and every view in the page shares
 * one evaluated copy of it (cached by the bundle's version).
 */

interface Widget {
	initialize?(props: { model: Host }): unknown;
	render?(props: { model: Host; el: HTMLElement }): unknown;
}

/** What the stub needs of a model: anywidget's model, and the manager that holds it. */
interface Host {
	get(key: string): unknown;
	widget_manager: { get_model(id: string): Promise<Host> };
}

// On globalThis, not in this module: every instance evaluates a module of its own. A
// registered symbol, not a name, so no page script can clash with it.
const key = Symbol.for("nbstream.bundles");
const page = globalThis as { [key]?: Map<string, Promise<Widget>> };
page[key] ??= new Map();
const loaded = page[key];

async function load(model: Host): Promise<Widget> {
	const id = String(model.get("_bundle")).replace(/^IPY_MODEL_/, "");
	const bundle = await model.widget_manager.get_model(id);
	const version = String(bundle.get("version"));
	let widget = loaded.get(version);
	if (!widget) {
		widget = evaluate(bundle, version);
		loaded.set(version, widget);
	}
	return widget;
}

async function evaluate(bundle: Host, version: string): Promise<Widget> {
	const style = document.createElement("style");
	style.id = `nbstream-${version}`;
	style.textContent = String(bundle.get("css"));
	document.head.append(style);
	const url = URL.createObjectURL(new Blob([String(bundle.get("code"))], { type: "text/javascript" }));
	try {
		return (await import(/* @vite-ignore */ url)).default as Widget;
	} finally {
		URL.revokeObjectURL(url);
	}
}

export default {
	async initialize(props: { model: Host }): Promise<unknown> {
		return (await load(props.model)).initialize?.(props);
	},
	async render(props: { model: Host; el: HTMLElement }): Promise<unknown> {
		try {
			return (await load(props.model)).render?.(props);
		} catch (error) {
			// Say so where the answer would be (the output's static copy is not shown).
			props.el.textContent = `nbstream could not load its display code: ${error}`;
			return undefined;
		}
	},
};
