import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two files at a time: vitest's default on a 2-core machine is one (cores - 1), and most of the
    // cluster tests' time is spent waiting on ZooKeeper, child processes and timeouts, not the CPU.
    maxWorkers: 2,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    // Temporary directories of a run go under one directory that is removed at its end.
    globalSetup: ["./test/helpers/temp-root.ts"],
  },
});
