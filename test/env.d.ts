import type { OptionalSettings } from '../src/env'

// `env` from cloudflare:test is Cloudflare.Env (generated from wrangler.toml in
// worker-configuration.d.ts), plus what vitest.config.ts binds for the tests.
declare global {
  namespace Cloudflare {
    interface Env extends OptionalSettings {}
  }
}
