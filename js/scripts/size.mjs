// Prints the size of every built bundle and fails when a widget outgrows its budget.
// The JS and CSS are sent with every widget instance; both widgets share one bundle.
// Run `npm run build` first.
import { statSync } from "node:fs";

const BUDGET = 102_400; // bytes per widget, JS + CSS, minified
const WIDGETS = {
	"StreamView and Chat": ["widget.js", "widget.css"],
};

for (const [widget, names] of Object.entries(WIDGETS)) {
	let total = 0;
	for (const name of names) {
		const { size } = statSync(new URL(`../../nbstream/static/${name}`, import.meta.url));
		total += size;
		console.log(`${name.padEnd(12)}${size} bytes`);
	}
	console.log(`${widget} total: ${total} bytes (budget ${BUDGET})\n`);
	if (total > BUDGET) {
		console.error(`${widget} is ${total - BUDGET} bytes over budget`);
		process.exitCode = 1;
	}
}
