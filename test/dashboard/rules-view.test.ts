import { describe, expect, it } from 'vitest'
import { useSources } from '../helpers/router'
import { textOf, textsOf } from './html'
import { dashboardHtml, loginCookie } from './session'

const SHOP = {
  name: 'rules-shop',
  writeKey: 'wk_rules_view_key',
  consentMissing: 'drop',
  destinations: {
    CrowdPower: {
      apiKey: 'pk_rules_view_secret',
      consent: ['Advertising', 'Analytics'],
      filters: [
        { name: 'no-test-events', action: 'drop', events: ['Test *'] },
        { name: 'paid-only', action: 'only', types: ['track'], if: 'properties.revenue > 0' },
      ],
      fields: { deny: ['traits.email', 'context.ip'], hash: ['properties.products[].sku'] },
    },
    Calixa: { apiKey: 'calixa-rules-secret', endpoint: 'https://calixa.example/segment' },
  },
}

useSources(SHOP)

describe('per-destination rules on the sources page', () => {
  it('shows consent, filters in order and field controls, apart from the settings', async () => {
    const html = await dashboardHtml('/admin/sources', await loginCookie())
    const row = (name: string) => `[data-source="rules-shop"] tr[data-destination="${name}"]`
    expect(await textsOf(html, `${row('CrowdPower')} .rules div`)).toEqual([
      'needs consent Advertising, Analytics',
      'drop · no-test-events events Test *',
      // The helper reads text as it is in the HTML: the condition's `>` is escaped there.
      'only send · paid-only types track and if properties.revenue &gt; 0',
      'fields deny traits.email, context.ip',
      'fields hash properties.products[].sku',
    ])
    // Rules are not settings: the settings list stays the partner's own.
    expect(await textsOf(html, `${row('CrowdPower')} .settings:not(.rules) div`)).toEqual(['apiKey redacted'])
    expect(await textOf(html, `${row('Calixa')} .muted`)).toBe('everything it supports')
    expect(await textOf(html, '[data-source="rules-shop"] [data-consent-missing]')).toBe(
      'dropped (consent_missing)',
    )
  })
})
