// Prints the size of every built file and fails when they outgrow their budgets. Run
// `npm run build` first.
// - The bundle minified (widget JS as esbuild minifies it, plus the CSS): what the page
//   evaluates, budgeted at 95,000 B.
// - What a saved notebook stores: widget.js (the bundle, deflated) and widget.css once
//   (nbstream/bundle.py), and stub.js once per widget instance.
import { statSync } from "node:fs";
import * as esbuild from "esbuild";

const BUDGET = 95_000; // bytes: minified JS + CSS, and the stored files together
const STUB_BUDGET = 1_024; // bytes, the part every instance carries
const FILES = ["widget.js", "widget.css", "stub.js"];

const sizes = {};
for (const name of FILES) {
	sizes[name] = statSync(new URL(`../../nbstream/static/${name}`, import.meta.url)).size;
}
// Minified as build.mjs minifies it, before it is deflated for storing.
const { outputFiles } = await esbuild.build({
	entryPoints: [new URL("../src/index.ts", import.meta.url).pathname],
	bundle: true,
	minify: true,
	target: "es2022",
	format: "esm",
	legalComments: "none",
	write: false,
});
const minified = outputFiles[0].contents.length + sizes["widget.css"];
const stored = FILES.reduce((sum, name) => sum + sizes[name], 0);

for (const name of FILES) console.log(`${name.padEnd(12)}${sizes[name]} bytes stored`);
console.log(`stored total: ${stored} bytes (budget ${BUDGET})`);
console.log(`minified JS + CSS: ${minified} bytes (budget ${BUDGET})\n`);
for (const [what, size] of [
	["the stored files are", stored],
	["the minified bundle is", minified],
]) {
	if (size > BUDGET) {
		console.error(`${what} ${size - BUDGET} bytes over budget`);
		process.exitCode = 1;
	}
}
if (sizes["stub.js"] > STUB_BUDGET) {
	console.error(`stub.js is ${sizes["stub.js"] - STUB_BUDGET} bytes over its budget (${STUB_BUDGET})`);
	process.exitCode = 1;
}
