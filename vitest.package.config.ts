import { defineConfig } from "vitest/config";

// npm run test:package: packs the npm package and uses it from fresh projects (test/package/).
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
