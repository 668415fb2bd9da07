// Prints the size of every built bundle and fails when a widget outgrows its budget.
// Each widget's JS and CSS are sent with every instance of it, so the budget is per widget.
// Run `npm run build` first.
import { statSync } from "node:fs";

const BUDGET = 102_400; // bytes per widget, JS + CSS, minified
const WIDGETS = {
	StreamView: ["widget.js", "widget.css"],
	Chat: ["chat.js", "chat.css"],
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
