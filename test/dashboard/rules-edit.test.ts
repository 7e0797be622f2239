import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { CONFIG_KEY } from '../../src/config/store'
import { ORIGIN, routerFetch, useSources } from '../helpers/router'
import { attributesOf, textOf, textsOf } from './html'
import { dashboardHtml, loginCookie } from './session'

const SHOP = {
  name: 'edit-shop',
  writeKey: 'wk_rules_edit_key',
  destinations: {
    CrowdPower: {
      apiKey: 'pk_rules_edit_secret',
      filters: [{ name: 'no-test-events', action: 'drop', events: ['Test *'] }],
    },
    Calixa: { apiKey: 'calixa-edit-secret', endpoint: 'https://calixa.example/segment' },
  },
}

useSources(SHOP)

let cookie: string
beforeAll(async () => {
  cookie = await loginCookie()
})

function saveRules(fields: Record<string, string>): Promise<Response> {
  return routerFetch('/admin/sources/rules', {
    method: 'POST',
    headers: { Cookie: cookie, Origin: ORIGIN },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
}

async function storedDocument(): Promise<typeof SHOP & Record<string, unknown>> {
  const document = (await env.CONFIG.get(CONFIG_KEY, 'json')) as { sources: (typeof SHOP)[] }
  const [source] = document.sources
  if (!source) throw new Error('no source stored')
  return source
}

const row = (name: string) => `[data-source="edit-shop"] tr[data-destination="${name}"]`

describe("editing a destination's rules on the sources page", () => {
  it('offers each destination its rules as JSON, in a form', async () => {
    const html = await dashboardHtml('/admin/sources', cookie)
    const text = await textOf(html, `${row('CrowdPower')} textarea[name="rules"]`)
    expect(JSON.parse(text.replaceAll('&quot;', '"'))).toEqual({
      filters: SHOP.destinations.CrowdPower.filters,
    })
    expect(await attributesOf(html, `${row('Calixa')} input[name="destination"]`, 'value')).toEqual([
      'Calixa',
    ])
  })

  it('saves valid rules, keeps every secret and setting, and shows them', async () => {
    const rules = {
      consent: ['Advertising'],
      filters: [{ name: 'paid-only', action: 'only', types: ['track'], if: 'properties.revenue > 0' }],
      fields: { deny: ['traits.email'] },
    }
    const response = await saveRules({
      source: 'edit-shop',
      destination: 'CrowdPower',
      rules: JSON.stringify(rules),
    })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/admin/sources?saved=edit-shop%2FCrowdPower')

    const stored = await storedDocument()
    expect(stored.writeKey).toBe(SHOP.writeKey)
    expect(stored.destinations.CrowdPower).toEqual({ apiKey: 'pk_rules_edit_secret', ...rules })
    expect(stored.destinations.Calixa).toEqual(SHOP.destinations.Calixa)

    const html = await dashboardHtml(response.headers.get('location') ?? '', cookie)
    expect(await textOf(html, '.notice')).toContain('edit-shop/CrowdPower')
    expect(await textsOf(html, `${row('CrowdPower')} .rules div`)).toContain('needs consent Advertising')
  })

  it("clears a destination's rules with an empty object", async () => {
    const response = await saveRules({ source: 'edit-shop', destination: 'CrowdPower', rules: '{}' })
    expect(response.status).toBe(303)
    expect((await storedDocument()).destinations.CrowdPower).toEqual({ apiKey: 'pk_rules_edit_secret' })
  })

  it.each([
    [
      'a rule that does not parse',
      '{"filters":[{"name":"x","action":"drop","if":"properties.revenue >"}]}',
      'filters.0.if',
    ],
    ['JSON that does not parse', '{"filters": [', 'rules'],
    ['a value that is not an object', '[]', 'rules'],
    ['a key that is not a rule', '{"apiKey":"stolen"}', 'rules.apiKey'],
  ])('refuses %s with a 400 naming it inline, and stores nothing', async (_name, text, path) => {
    const before = await env.CONFIG.get(CONFIG_KEY)
    const response = await saveRules({ source: 'edit-shop', destination: 'CrowdPower', rules: text })
    expect(response.status).toBe(400)
    const html = await response.text()
    const issues = await textsOf(html, `${row('CrowdPower')} .rule-issues li`)
    expect(
      issues.some((issue) => issue.includes(path)),
      issues.join(' | '),
    ).toBe(true)
    // What was typed stays in the box, to be fixed.
    expect(await textOf(html, `${row('CrowdPower')} textarea[name="rules"]`)).not.toBe('')
    expect(await env.CONFIG.get(CONFIG_KEY)).toBe(before)
  })

  it('refuses an unknown source or destination, and a cross-site post', async () => {
    expect((await saveRules({ source: 'nope', destination: 'CrowdPower', rules: '{}' })).status).toBe(400)
    expect((await saveRules({ source: 'edit-shop', destination: 'Crisp', rules: '{}' })).status).toBe(400)
    const crossSite = await routerFetch('/admin/sources/rules', {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'https://evil.example' },
      body: new URLSearchParams({ source: 'edit-shop', destination: 'CrowdPower', rules: '{}' }),
      redirect: 'manual',
    })
    expect(crossSite.status).toBe(403)
  })
})
