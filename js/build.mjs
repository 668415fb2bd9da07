// Bundles the widget for the Python package: `node build.mjs` (production) or
// `node build.mjs --watch` (rebuild on save, uncompressed; pair with ANYWIDGET_HMR=1).
//
// Production writes these files to nbstream/static/:
// - widget.js: the bundle (src/index.ts), deflated inside a small loader module. It is
//   what a saved notebook stores (once: see src/stub.ts), so it is stored small; the
//   browser inflates it with DecompressionStream and imports the result.
// - widget.css: the styles.
// - stub.js: what each widget instance carries in Jupyter (src/stub.ts).
// And to nbstream/relay/static/: relay.js and relay.css, the relay's chat page
// (src/relay/page.ts) that `nbstream serve` serves; never part of a notebook.
import { readFileSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import * as esbuild from "esbuild";

const outdir = new URL("../nbstream/static/", import.meta.url).pathname;

/** @type {import("esbuild").BuildOptions} */
const common = {
	bundle: true,
	minify: true,
	target: "es2022",
	outdir,
	logLevel: "info",
	legalComments: "none",
};

// One bundle for both widgets (see src/index.ts). Everything is bundled in: a notebook
// frontend has no module resolver for bare imports.
const widget = { ...common, entryPoints: { widget: "src/index.ts" }, format: "esm" };
const styles = { ...common, entryPoints: { widget: "src/widget.css" } };
const stub = { ...common, entryPoints: { stub: "src/stub.ts" }, format: "esm" };
// The relay's page goes beside the relay's code, apart from what notebooks carry.
const pageOut = new URL("../nbstream/relay/static/", import.meta.url).pathname;
const page = { ...common, outdir: pageOut, entryPoints: { relay: "src/relay/page.ts" }, format: "esm" };
const pageStyles = { ...common, outdir: pageOut, entryPoints: { relay: "src/relay/page.css" } };

/** `code` as an ES module that inflates and imports it, and re-exports its default. */
function deflated(code) {
	const data = deflateSync(Buffer.from(code), { level: 9 }).toString("base64");
	return (
		`const s=new Blob([Uint8Array.from(atob("${data}"),c=>c.charCodeAt(0))]).stream()` +
		`.pipeThrough(new DecompressionStream("deflate")),` +
		`u=URL.createObjectURL(new Blob([await new Response(s).text()],{type:"text/javascript"}));` +
		`let m;try{m=await import(u)}finally{URL.revokeObjectURL(u)}export default m.default;\n`
	);
}

if (process.argv.includes("--watch")) {
	for (const options of [widget, styles, stub, page, pageStyles]) {
		await (await esbuild.context(options)).watch();
	}
} else {
	const [built] = await Promise.all([
		esbuild.build({ ...widget, write: false, logLevel: "warning" }),
		esbuild.build(styles),
		esbuild.build(stub),
		esbuild.build(page),
		esbuild.build(pageStyles),
	]);
	const minified = built.outputFiles[0].text;
	writeFileSync(`${outdir}widget.js`, deflated(minified));
	console.log(`  widget.js: ${minified.length} B minified, stored deflated`);
	// esbuild keeps the spaces in custom properties' values (`--a: var( --b, #fff )`); the
	// browser does not need them, the bundle budget does. (No CSS string holds ", " or ": ".)
	const css = `${outdir}widget.css`;
	writeFileSync(css, readFileSync(css, "utf8").replace(/(?<=[,:(]) +| +(?=\))/g, ""));
}
