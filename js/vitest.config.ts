import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		environment: "happy-dom",
		include: ["test/**/*.test.ts"],
		// Let styles.test.ts read the stylesheet (`?raw`); vitest blanks CSS by default.
		css: { include: [/styles\.css/] },
	},
});
