import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs on its own: `npm run test:faults`.
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    // Integration tests share one private redis-server per worker; keep worker count modest on 2 cores.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
