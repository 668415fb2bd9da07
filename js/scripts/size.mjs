// Prints the size of every built file and fails when they outgrow the budget.
// A saved notebook stores widget.js and widget.css once (nbstream/bundle.py), and
// stub.js once per widget instance. Run `npm run build` first.
import { statSync } from "node:fs";

const BUDGET = 95_000; // bytes, all of them together
const STUB_BUDGET = 1_024; // bytes, the part every instance carries
const FILES = ["widget.js", "widget.css", "stub.js"];

let total = 0;
for (const name of FILES) {
	const { size } = statSync(new URL(`../../nbstream/static/${name}`, import.meta.url));
	total += size;
	console.log(`${name.padEnd(12)}${size} bytes`);
	if (name === "stub.js" && size > STUB_BUDGET) {
		console.error(`stub.js is ${size - STUB_BUDGET} bytes over its budget (${STUB_BUDGET})`);
		process.exitCode = 1;
	}
}
console.log(`total: ${total} bytes (budget ${BUDGET})\n`);
if (total > BUDGET) {
	console.error(`the bundle is ${total - BUDGET} bytes over budget`);
	process.exitCode = 1;
}
