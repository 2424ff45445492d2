import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // the leak-backstop test forces a collection with global.gc()
    execArgv: ['--expose-gc'],
    setupFiles: ['test/setup-default-backend.ts', 'test/setup-webgpu.ts'],
    testTimeout: 60_000,
  },
});
