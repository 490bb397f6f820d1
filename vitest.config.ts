import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites spawn real processes and build guest programs: keep parallelism at the
    // machine's size so timing-sensitive guests are not starved.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
