import { defineConfig } from "vitest/config";

// HAProxy in front of three servers: needs the haproxy binary (.ci/run installs it), so not part of `npm test`.
export default defineConfig({
  test: {
    include: ["test/lb/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
