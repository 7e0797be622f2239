import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig(() => {
  return {
    plugins: [
      cloudflareTest({
        main: './src/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: 'test-admin-token',
            // Few shards, so every list, count and replay in the tests spans several.
            LEDGER_SHARDS: '4',
            // Short waits so retry and timeout paths run in seconds; production defaults are 10 s.
            PARTNER_TIMEOUT_MS: '1500',
            RETRY_BASE_SECONDS: '1',
          },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      // The browser test runs in Node with its own config (vitest.browser.config.ts).
      exclude: [...configDefaults.exclude, 'test/browser/**'],
      globalSetup: ['./test/setup/global-sandbox.ts'],
      // Delivery tests wait for real queue retries (seconds, with RETRY_BASE_SECONDS=1).
      testTimeout: 30_000,
    },
  }
})
