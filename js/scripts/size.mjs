// Prints the size of the built bundle and fails when it outgrows its budget.
// Run `npm run build` first.
import { statSync } from "node:fs";

const BUDGET = 102_400; // bytes, JS + CSS, minified
const files = ["widget.js", "widget.css"].map(
	(name) => new URL(`../../nbstream/static/${name}`, import.meta.url),
);

let total = 0;
for (const file of files) {
	const { size } = statSync(file);
	total += size;
	console.log(`${file.pathname.split("/").pop()}\t${size} bytes`);
}
console.log(`total\t\t${total} bytes (budget ${BUDGET})`);
if (total > BUDGET) {
	console.error(`bundle is ${total - BUDGET} bytes over budget`);
	process.exitCode = 1;
}
