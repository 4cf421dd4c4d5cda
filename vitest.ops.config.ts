import { defineConfig } from "vitest/config";

// A real Prometheus scraping twine: needs the prometheus binary (.ci/run installs Debian's), so not part of `npm test`.
export default defineConfig({
  test: {
    include: ["test/ops/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
