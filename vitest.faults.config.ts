import { defineConfig } from 'vitest/config';

/** The fault suite: long, heavy runs kept out of `npm test` and run by CI as `npm run test:faults`. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
