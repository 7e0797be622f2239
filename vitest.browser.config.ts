import { defineConfig } from 'vitest/config'

/**
 * The browser test: Node-side (not workerd). It starts the real local stack
 * (`wrangler dev` + the partner sandbox) and drives the dashboard in Debian's
 * headless Chromium through playwright-core. Run by `npm test` after the workerd suite.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    // Starting wrangler dev and waiting for queue deliveries takes tens of seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
})
