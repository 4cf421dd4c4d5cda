import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/stress/**", "test/package/**", "test/lb/**", "test/ops/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration files start servers and push real traffic, so run them one at a time.
    fileParallelism: false,
  },
});
