// Bundles the widget for the Python package: `node build.mjs` (production) or
// `node build.mjs --watch` (rebuild on save; pair with ANYWIDGET_HMR=1).
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

const builds = [
	// marked is bundled in: a notebook frontend has no module resolver for bare imports.
	{ ...common, entryPoints: { widget: "src/index.ts" }, format: "esm" },
	{ ...common, entryPoints: { widget: "src/styles.css" } },
	// The Chat widget: its own bundle, sharing the modules above (and, through @import, the CSS).
	{ ...common, entryPoints: { chat: "src/chat/index.ts" }, format: "esm" },
	{ ...common, entryPoints: { chat: "src/chat/styles.css" } },
];

if (process.argv.includes("--watch")) {
	for (const options of builds) await (await esbuild.context(options)).watch();
} else {
	await Promise.all(builds.map((options) => esbuild.build(options)));
}
