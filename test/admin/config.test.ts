import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/app'
import { MAX_CONFIG_DEPTH, validateConfig } from '../../src/config/schema'
import { ADMIN_TOKEN, basicAuth, putConfig, routerFetch } from '../helpers/router'

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }

const VALID = {
  sources: [
    {
      name: 'web',
      writeKey: 'wk_config_secret_1',
      webhookSecret: 'whsec_config_secret',
      destinations: {
        Crisp: { apiKey: 'crisp-identifier:crisp-key', websiteId: 'site-1' },
        'Crossing Minds': { apiKey: 'svc-account', apiPassword: 'cm-password', apiDatabaseId: 'db-1' },
        CrowdPower: { apiKey: 'pk_live_123', enabled: false },
        Calixa: { apiKey: 'calixa-key', endpoint: 'https://calixa.example/segment' },
      },
    },
  ],
}

async function getConfig(): Promise<{ sources: Record<string, unknown>[] }> {
  const response = await routerFetch('/admin/config', { headers: admin })
  expect(response.status).toBe(200)
  return (await response.json()) as { sources: Record<string, unknown>[] }
}

async function putRaw(body: string, headers: Record<string, string> = admin): Promise<Response> {
  return routerFetch('/admin/config', { method: 'PUT', headers, body })
}

describe('admin auth', () => {
  it('refuses a missing or wrong bearer token with 401', async () => {
    expect((await routerFetch('/admin/config')).status).toBe(401)
    const wrong = await routerFetch('/admin/config', { headers: { Authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ error: 'unauthorized' })
  })

  it('is closed when no ADMIN_TOKEN secret is set, even to a guessed token', async () => {
    const response = await app.request(
      '/admin/config',
      { headers: { Authorization: 'Bearer undefined' } },
      { ...env, ADMIN_TOKEN: undefined },
    )
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ error: 'admin_closed' })
  })
})

describe('PUT /admin/config', () => {
  it('lists every problem by path and stores nothing', async () => {
    await putConfig(VALID)
    const response = await putRaw(
      JSON.stringify({
        sources: [
          {
            name: 'web',
            writeKey: 'wk_config_secret_1',
            destinations: {
              Crisp: { apiKey: 'only-an-identifier' },
              Mailchimp: {},
              CrowdPower: { apiKey: 'pk_1', apiBase: 'not a url' },
            },
          },
          { name: 'web', writeKey: 'wk_config_secret_1' },
        ],
      }),
    )
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: string; issues: { path: string; message: string }[] }
    expect(body.error).toBe('invalid_config')
    const paths = body.issues.map((issue) => issue.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'sources.0.destinations.Crisp.websiteId',
        'sources.0.destinations.Mailchimp',
        'sources.0.destinations.CrowdPower.apiBase',
        'sources.1.name',
        'sources.1.writeKey',
      ]),
    )
    // The earlier document is still the one in force.
    const stored = await getConfig()
    expect(stored.sources).toHaveLength(1)
    expect(stored.sources[0]?.destinations).toHaveProperty('Calixa')
  })

  it('answers 400 for a body that is not JSON', async () => {
    const response = await putRaw('{"sources": [')
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_json' })
  })

  it('reports structural problems with their paths', async () => {
    const response = await putRaw(JSON.stringify({ sources: [{ name: 'bad name!', writeKey: 'short' }] }))
    const body = (await response.json()) as { issues: { path: string }[] }
    expect(body.issues.map((issue) => issue.path).sort()).toEqual(['sources.0.name', 'sources.0.writeKey'])
  })
})

describe('GET /admin/config', () => {
  it('redacts every secret and keeps the rest', async () => {
    await putConfig(VALID)
    const [source] = (await getConfig()).sources
    expect(source).toMatchObject({ name: 'web', writeKey: '<redacted>', webhookSecret: '<redacted>' })
    expect(source?.destinations).toEqual({
      Crisp: { apiKey: '<redacted>', websiteId: 'site-1' },
      'Crossing Minds': { apiKey: 'svc-account', apiPassword: '<redacted>', apiDatabaseId: 'db-1' },
      CrowdPower: { apiKey: '<redacted>', enabled: false },
      Calixa: { apiKey: '<redacted>', endpoint: 'https://calixa.example/segment' },
    })
    expect(JSON.stringify(source)).not.toContain('wk_config_secret_1')
    expect(JSON.stringify(source)).not.toContain('cm-password')
  })

  it('keeps stored secrets when a redacted document is sent back', async () => {
    await putConfig(VALID)
    const document = await getConfig()
    await putConfig(document)
    // The original write key still authenticates, so the secret survived the round trip.
    const response = await routerFetch('/v1/track', {
      method: 'POST',
      headers: { Authorization: basicAuth('wk_config_secret_1') },
      body: JSON.stringify({ userId: 'u1', event: 'Round Trip', integrations: { All: false } }),
    })
    expect(response.status).toBe(200)
    const stored = await env.CONFIG.get('config:v1', 'json')
    expect(JSON.stringify(stored)).toContain('cm-password')
  })
})

describe('PUT /admin/config refuses hostile shapes with a 400 and stores nothing', () => {
  /** Puts `body`, expects a 400 invalid_config, and checks the stored document is untouched. */
  async function refused(body: string): Promise<{ path: string; message: string }[]> {
    await putConfig(VALID)
    const before = await env.CONFIG.get('config:v1')
    const response = await putRaw(body)
    expect(response.status).toBe(400)
    const answer = (await response.json()) as { error: string; issues: { path: string; message: string }[] }
    expect(answer.error).toBe('invalid_config')
    expect(await env.CONFIG.get('config:v1')).toBe(before)
    return answer.issues
  }

  const source = (destinations: string) =>
    `{"sources":[{"name":"web","writeKey":"wk_config_secret_1","destinations":${destinations}}]}`

  it('settings nested 10,000 deep (as the fuzzer sent them)', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`
    const issues = await refused(
      source(`{"Calixa":{"apiKey":"calixa-key","endpoint":"https://calixa.example","deep":${deep}}}`),
    )
    expect(issues).toEqual([{ path: '', message: 'the document nests deeper than 32 levels' }])
  })

  it('"<redacted>" as a secret of a new source or destination, naming each field', async () => {
    const issues = await refused(
      JSON.stringify({
        sources: [
          {
            name: 'web',
            writeKey: '<redacted>',
            webhookSecret: '<redacted>',
            destinations: {
              Crisp: { apiKey: '<redacted>', websiteId: 'site-1' },
              'Crossing Minds': { apiKey: 'svc-account', apiPassword: 'cm-password', apiDatabaseId: 'db-1' },
            },
          },
          { name: 'mobile', writeKey: '<redacted>', destinations: { CrowdPower: { apiKey: '<redacted>' } } },
        ],
      }),
    )
    // web's secrets are stored, so they are kept; mobile is new.
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'sources.1.destinations.CrowdPower.apiKey',
      'sources.1.writeKey',
    ])
    expect(issues[0]?.message).toContain('no stored secret to keep')
  })

  it('"<redacted>" for a destination added to a stored source', async () => {
    await putConfig({ sources: [{ name: 'web', writeKey: 'wk_config_secret_1' }] })
    const response = await putRaw(
      JSON.stringify({
        sources: [
          { name: 'web', writeKey: '<redacted>', destinations: { CrowdPower: { apiKey: '<redacted>' } } },
        ],
      }),
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      issues: [
        { path: 'sources.0.destinations.CrowdPower.apiKey', message: expect.stringContaining('<redacted>') },
      ],
    })
  })

  it('"<redacted>" for a secret the stored destination never had', async () => {
    await putConfig({ sources: [{ name: 'web', writeKey: 'wk_config_secret_1' }] })
    const response = await putRaw(
      JSON.stringify({ sources: [{ name: 'web', writeKey: '<redacted>', webhookSecret: '<redacted>' }] }),
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      issues: [{ path: 'sources.0.webhookSecret', message: expect.stringContaining('<redacted>') }],
    })
  })

  it.each([
    [
      'a destination named __proto__',
      source('{"__proto__":{"apiKey":"k"}}'),
      'sources.0.destinations.__proto__',
    ],
    ['a destination named constructor', source('{"constructor":{}}'), 'sources.0.destinations.constructor'],
    ['a destination named prototype', source('{"prototype":{}}'), 'sources.0.destinations.prototype'],
    ['a top-level __proto__ key', `{"sources":[],"__proto__":{"polluted":true}}`, '__proto__'],
    [
      'a __proto__ key inside settings',
      source('{"Calixa":{"apiKey":"calixa-key","endpoint":"https://c.example","__proto__":{"x":1}}}'),
      'sources.0.destinations.Calixa.__proto__',
    ],
  ])('%s', async (_, body, path) => {
    const issues = await refused(body)
    expect(issues).toEqual([{ path, message: expect.stringContaining('reserved name') }])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a source named constructor', async () => {
    const issues = await refused('{"sources":[{"name":"constructor","writeKey":"wk_config_secret_1"}]}')
    expect(issues).toEqual([{ path: 'sources.0.name', message: 'name is reserved' }])
  })

  it.each([
    ['a document that is an array', '[]', ''],
    ['a source that is an array', '{"sources":[[]]}', 'sources.0'],
    ['destinations that are an array', source('[]'), 'sources.0.destinations'],
    ['settings that are an array', source('{"CrowdPower":[]}'), 'sources.0.destinations.CrowdPower'],
  ])('%s, with its path', async (_, body, path) => {
    const issues = await refused(body)
    expect(issues.map((issue) => issue.path)).toEqual([path])
  })

  it('takes a document just within the depth limit', async () => {
    let deep: unknown = 1
    for (let level = 0; level < MAX_CONFIG_DEPTH - 6; level += 1) deep = [deep]
    await putConfig({
      sources: [
        {
          name: 'web',
          writeKey: 'wk_config_secret_1',
          destinations: { Calixa: { apiKey: 'calixa-key', endpoint: 'https://c.example', deep } },
        },
      ],
    })
  })
})

describe('validateConfig', () => {
  it('builds destinations without a prototype, so no name from outside finds an inherited member', () => {
    const result = validateConfig(VALID)
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const { destinations } = result.config.sources[0] as { destinations: Record<string, unknown> }
    expect(destinations.constructor).toBeUndefined()
    expect(destinations.toString).toBeUndefined()
    expect(Object.keys(destinations)).toEqual(['Crisp', 'Crossing Minds', 'CrowdPower', 'Calixa'])
  })
})

describe('rate limits and automatic pauses in the config', () => {
  function withDestination(name: string, settings: Record<string, unknown>) {
    const [source] = VALID.sources
    return { sources: [{ ...source, destinations: { [name]: settings } }] }
  }

  it("defaults to each partner's documented quota, per Crisp token tier, and none where none is published", () => {
    const result = validateConfig(VALID)
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const destinations = result.config.sources[0]?.destinations ?? {}
    expect(destinations.Crisp?.rateLimit).toEqual({ requests: 5_000, perSeconds: 86_400 })
    expect(destinations['Crossing Minds']?.rateLimit).toEqual({ requests: 20, perSeconds: 1 })
    expect(destinations.CrowdPower?.rateLimit).toBeNull()
    expect(destinations.Calixa?.pauseAfterAuthFailures).toBe(5)
    const website = validateConfig(
      withDestination('Crisp', { apiKey: 'id:key', websiteId: 'site-1', tier: 'website' }),
    )
    expect(website.ok && website.config.sources[0]?.destinations.Crisp?.rateLimit).toEqual({
      requests: 10_000,
      perSeconds: 86_400,
    })
  })

  it('takes a ceiling of its own, or false for none', () => {
    const own = validateConfig(
      withDestination('Crisp', {
        apiKey: 'id:key',
        websiteId: 's',
        rateLimit: { requests: 50, perSeconds: 60 },
      }),
    )
    expect(own.ok && own.config.sources[0]?.destinations.Crisp?.rateLimit).toEqual({
      requests: 50,
      perSeconds: 60,
    })
    const none = validateConfig(
      withDestination('Crisp', { apiKey: 'id:key', websiteId: 's', rateLimit: false }),
    )
    expect(none.ok && none.config.sources[0]?.destinations.Crisp?.rateLimit).toBeNull()
  })

  it.each([
    [{ rateLimit: { requests: 0, perSeconds: 1 } }, 'rateLimit'],
    [{ rateLimit: [5, 1] }, 'rateLimit'],
    [{ rateLimit: true }, 'rateLimit'],
    [{ pauseAfterAuthFailures: -1 }, 'pauseAfterAuthFailures'],
    [{ pauseAfterAuthFailures: 2.5 }, 'pauseAfterAuthFailures'],
  ])('refuses %j with its path', (settings, field) => {
    const result = validateConfig(withDestination('CrowdPower', { apiKey: 'pk_live_123', ...settings }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((issue) => issue.path)).toContainEqual(
      expect.stringMatching(new RegExp(`^sources\\.0\\.destinations\\.CrowdPower\\.${field}`)),
    )
  })
})

describe('the audit list', () => {
  it('records each saved config with who and when, and nothing for a refused one', async () => {
    const audit = async () => {
      const response = await routerFetch('/admin/audit?target=config', { headers: admin })
      return ((await response.json()) as { entries: { actor: string; action: string; detail: string }[] })
        .entries
    }
    const before = (await audit()).length
    expect((await putRaw(JSON.stringify(VALID))).status).toBe(200)
    expect((await putRaw(JSON.stringify({ sources: 'nope' }))).status).toBe(400)
    const entries = await audit()
    expect(entries).toHaveLength(before + 1)
    expect(entries[0]).toMatchObject({ actor: 'admin', action: 'config.saved', detail: '1 source' })
  })
})
