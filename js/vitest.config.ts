import { defineConfig } from "vitest/config";

export default defineConfig({
	// test/safety.ts reads the XSS corpus that pytest shares (../tests/xss_corpus.json).
	server: { fs: { allow: [".", "../tests"] } },
	test: {
		environment: "happy-dom",
		include: ["test/**/*.test.ts"],
		// A timeout is for a hang, not for speed (the speed tests compare sizes timed in
		// the same run). CI runs these beside the kernel and browser tests on two cores,
		// where the character-at-a-time property tests took over vitest's default 5 s.
		testTimeout: 60_000,
		// Let styles.test.ts read the stylesheet (`?raw`); vitest blanks CSS by default.
		css: { include: [/styles\.css/] },
	},
});
