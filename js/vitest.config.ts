import { defineConfig } from "vitest/config";

export default defineConfig({
	// test/safety.ts reads the XSS corpus that pytest shares (../tests/xss_corpus.json).
	server: { fs: { allow: [".", "../tests"] } },
	test: {
		environment: "happy-dom",
		include: ["test/**/*.test.ts"],
		// Let styles.test.ts read the stylesheet (`?raw`); vitest blanks CSS by default.
		css: { include: [/styles\.css/] },
	},
});
