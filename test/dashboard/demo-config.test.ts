import { describe, expect, it } from 'vitest'
import { DEMO_WRITE_KEY, demoConfig, needsDemoConfig } from '../../scripts/demo-config'
import { redactConfig } from '../../src/config/redact'
import { validateConfig } from '../../src/config/schema'

const SANDBOX = 'http://127.0.0.1:8788'

/** What `npm start` reads back: GET /admin/config, secrets redacted. */
const stored = (document: unknown) => redactConfig(document)

describe('the demo config npm start seeds', () => {
  it('is a valid config with all four destinations on the sandbox', () => {
    const result = validateConfig(demoConfig(SANDBOX))
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const [source] = result.config.sources
    expect(source?.writeKey).toBe(DEMO_WRITE_KEY)
    expect(Object.keys(source?.destinations ?? {}).sort()).toEqual([
      'Calixa',
      'Crisp',
      'Crossing Minds',
      'CrowdPower',
    ])
    for (const [name, destination] of Object.entries(source?.destinations ?? {}))
      if (name !== 'Calixa') expect(destination.apiBase, name).toMatch(/^http:\/\/127\.0\.0\.1:8788\//)
  })

  it('is seeded into an empty router, and re-seeded only when it points at another sandbox port', () => {
    expect(needsDemoConfig({ sources: [] }, SANDBOX)).toBe(true)
    expect(needsDemoConfig(stored(demoConfig(SANDBOX)), SANDBOX)).toBe(false)
    expect(needsDemoConfig(stored(demoConfig('http://127.0.0.1:9999')), SANDBOX)).toBe(true)
  })

  it('never replaces a config someone stored themselves', () => {
    const own = { sources: [{ name: 'web', writeKey: 'wk_real_key_123', destinations: {} }] }
    expect(needsDemoConfig(stored(own), SANDBOX)).toBe(false)
    const demoOnRealPartners = {
      sources: [
        { name: 'demo', writeKey: 'wk_x_12345', destinations: { CrowdPower: { apiKey: 'pk_live_1' } } },
      ],
    }
    expect(needsDemoConfig(stored(demoOnRealPartners), SANDBOX)).toBe(false)
    const [demo] = demoConfig('http://127.0.0.1:9999').sources
    const twoSources = { sources: [demo, { ...demo, name: 'second' }] }
    expect(needsDemoConfig(stored(twoSources), SANDBOX)).toBe(false)
  })
})
