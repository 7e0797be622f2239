import { describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, routerFetch, useSources } from '../helpers/router'
import { attributesOf, textOf, textsOf } from './html'
import { dashboardHtml, loginCookie } from './session'

/** Every secret of this config; none may appear in any dashboard page. */
const SECRETS = {
  writeKey: 'wk_dashboard_secret_write_key',
  webhookSecret: 'whsec_dashboard_secret',
  crispKey: 'crisp-ident:crisp-secret-key-value',
  crossingMindsPassword: 'cm-secret-password-value',
  crowdPowerKey: 'pk_live_dashboard_secret',
  calixaKey: 'calixa-secret-api-key',
}

const SHOP = {
  name: 'shop',
  writeKey: SECRETS.writeKey,
  webhookSecret: SECRETS.webhookSecret,
  destinations: {
    Crisp: { apiKey: SECRETS.crispKey, websiteId: 'website-visible-id' },
    'Crossing Minds': {
      apiKey: 'service-account-name',
      apiPassword: SECRETS.crossingMindsPassword,
      apiDatabaseId: 'db-visible',
    },
    CrowdPower: { apiKey: SECRETS.crowdPowerKey, enabled: false },
    Calixa: { apiKey: SECRETS.calixaKey, endpoint: 'https://calixa.example/segment' },
  },
}

const OPEN = { name: 'open-source', writeKey: 'wk_open_source_key', allowUnsigned: true, destinations: {} }

useSources(SHOP, OPEN)

describe('sources and destinations page', () => {
  it('lists every source and destination with the non-secret settings', async () => {
    const html = await dashboardHtml('/admin/sources', await loginCookie())
    expect(await attributesOf(html, 'article[data-source]', 'data-source')).toEqual(['shop', 'open-source'])
    expect(await attributesOf(html, '[data-source="shop"] tr[data-destination]', 'data-destination')).toEqual(
      ['Crisp', 'Crossing Minds', 'CrowdPower', 'Calixa'],
    )
    const crisp = '[data-source="shop"] tr[data-destination="Crisp"]'
    expect(await textOf(html, `${crisp} .endpoint`)).toBe('https://api.crisp.chat')
    const calixa = '[data-source="shop"] tr[data-destination="Calixa"]'
    expect(await textOf(html, `${calixa} .endpoint`)).toBe('https://calixa.example/segment')
    expect(await textsOf(html, `${calixa} .settings div`)).toEqual(['apiKey redacted'])
    expect(await textsOf(html, `${crisp} .settings div`)).toEqual([
      'apiKey redacted',
      'websiteId website-visible-id',
    ])
    expect(await textOf(html, '[data-source="shop"] tr[data-destination="CrowdPower"] .pill')).toBe(
      'disabled',
    )
    expect(await textOf(html, '[data-source="open-source"] .facts .pill')).toBe('unsigned accepted')
    expect(await textOf(html, '[data-source="open-source"] .empty')).toMatch(/^No destinations/)
  })

  it('never puts a secret, the admin token or the session value in any page', async () => {
    const cookie = await loginCookie()
    const session = cookie.split('=')[1] ?? ''
    for (const path of ['/admin', '/admin/sources', '/admin?q=anything']) {
      const html = await dashboardHtml(path, cookie)
      for (const [name, secret] of Object.entries({ ...SECRETS, ADMIN_TOKEN, session })) {
        expect(html.includes(secret), `${name} in ${path}`).toBe(false)
      }
    }
    const loginPage = await (await routerFetch('/admin')).text()
    expect(loginPage.includes(ADMIN_TOKEN)).toBe(false)
  })

  it('shows the configured destinations on the overview even before any event', async () => {
    const html = await dashboardHtml('/admin', await loginCookie())
    expect(await attributesOf(html, 'article[data-destination]', 'data-destination')).toEqual([
      'Calixa',
      'Crisp',
      'Crossing Minds',
      'CrowdPower',
    ])
    expect(await textOf(html, 'article[data-destination="CrowdPower"] .pill')).toBe('disabled')
    expect(await textOf(html, '#deliveries-live .empty')).toMatch(/^No deliveries yet/)
  })
})

describe('page hardening', () => {
  it('loads nothing from anywhere: a nonce-only CSP, inline style and script, no external URL', async () => {
    const cookie = await loginCookie()
    for (const path of ['/admin', '/admin/sources']) {
      const response = await routerFetch(path, { headers: { Cookie: cookie } })
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("default-src 'none'")
      const nonce = csp.match(/script-src 'nonce-([^']+)'/)?.[1]
      expect(nonce).toBeTruthy()
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      // Under no-referrer a browser would send `Origin: null` with the page's form posts (refused as CSRF).
      expect(response.headers.get('referrer-policy')).toBe('same-origin')
      expect(response.headers.get('strict-transport-security')).toBeNull()
      const html = await response.text()
      expect(
        await attributesOf(html, 'script[src], link[rel="stylesheet"], img[src^="http"]', 'src'),
      ).toEqual([])
      const tagNonces = await attributesOf(html, 'script, style', 'nonce')
      expect(tagNonces.length).toBeGreaterThan(0)
      expect(new Set(tagNonces)).toEqual(new Set([nonce]))
    }
  })
})
