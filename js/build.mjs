// Bundles the widget for the Python package: `node build.mjs` (production) or
// `node build.mjs --watch` (rebuild on save; pair with ANYWIDGET_HMR=1).
import { readFileSync, writeFileSync } from "node:fs";
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
	// One bundle for both widgets (see src/index.ts). marked is bundled in: a notebook
	// frontend has no module resolver for bare imports.
	{ ...common, entryPoints: { widget: "src/index.ts" }, format: "esm" },
	{ ...common, entryPoints: { widget: "src/widget.css" } },
];

if (process.argv.includes("--watch")) {
	for (const options of builds) await (await esbuild.context(options)).watch();
} else {
	await Promise.all(builds.map((options) => esbuild.build(options)));
	// esbuild keeps the spaces in custom properties' values (`--a: var( --b, #fff )`); the
	// browser does not need them, the bundle budget does. (No CSS string holds ", " or ": ".)
	const css = `${outdir}widget.css`;
	writeFileSync(css, readFileSync(css, "utf8").replace(/(?<=[,:(]) +| +(?=\))/g, ""));
}
