import { describe, expect, it } from 'vitest'
import { consentDrop } from '../../src/delivery/consent'
import type { SegmentEvent } from '../../src/segment/schema'
import { textsOf } from '../dashboard/html'
import { dashboardHtml, loginCookie } from '../dashboard/session'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { putConfig } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

const consent = (categoryPreferences: Record<string, boolean>) => ({ consent: { categoryPreferences } })

describe('consent rule', () => {
  const event = (context?: unknown) =>
    ({
      type: 'track',
      event: 'E',
      messageId: 'm',
      timestamp: 't',
      ...(context !== undefined && { context }),
    }) as SegmentEvent

  it('needs every listed category granted; false or absent is denied, naming the category', () => {
    const needs = ['Advertising', 'Analytics']
    expect(
      consentDrop(event(consent({ Advertising: true, Analytics: true, Other: false })), needs, 'drop'),
    ).toBe(undefined)
    expect(consentDrop(event(consent({ Advertising: true, Analytics: false })), needs, 'send')).toEqual({
      drop: 'consent_denied',
      detail: 'Analytics not granted',
    })
    expect(consentDrop(event(consent({ Advertising: true })), needs, 'send')).toEqual({
      drop: 'consent_denied',
      detail: 'Analytics not granted',
    })
    // A truthy non-boolean is not consent.
    expect(
      consentDrop(
        event({ consent: { categoryPreferences: { Advertising: 'yes' } } }),
        ['Advertising'],
        'send',
      ),
    ).toMatchObject({
      drop: 'consent_denied',
    })
    // Inherited names are not categories.
    expect(consentDrop(event(consent({})), ['constructor'], 'send')).toMatchObject({ drop: 'consent_denied' })
  })

  it('follows the source setting when there is no consent object', () => {
    for (const context of [undefined, {}, { consent: {} }, { consent: { categoryPreferences: [] } }]) {
      expect(consentDrop(event(context), ['Advertising'], 'send')).toBeUndefined()
      expect(consentDrop(event(context), ['Advertising'], 'drop')).toEqual({
        drop: 'consent_missing',
        detail: 'no context.consent.categoryPreferences',
      })
    }
  })
})

/** Through the real pipeline, asserting what reached the sandbox partners and what the ledger says. */
describe('consent end to end', () => {
  it('drops denied and (when the source says so) missing consent for gated destinations only', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({
      CrowdPower: { ...destinations.CrowdPower, consent: ['Advertising'] },
      // No consent categories: not consent-gated, so consentMissing does not apply to it.
      Calixa: destinations.Calixa,
    })
    await putConfig({
      sources: [
        {
          ...source,
          consentMissing: 'drop',
          destinations: {
            CrowdPower: { ...destinations.CrowdPower, consent: ['Advertising'] },
            Calixa: destinations.Calixa,
          },
        },
      ],
    })
    const ids = {
      granted: messageId('consent-granted'),
      denied: messageId('consent-denied'),
      missing: messageId('consent-missing'),
      consentOnly: messageId('consent-only'),
    }
    await sendBatch(source.writeKey, [
      {
        type: 'identify',
        messageId: ids.granted,
        userId: 'u-yes',
        traits: { email: 'yes@example.com' },
        context: consent({ Advertising: true, Analytics: false }),
      },
      {
        type: 'identify',
        messageId: ids.denied,
        userId: 'u-no',
        traits: { email: 'no@example.com' },
        context: consent({ Advertising: false, Analytics: true }),
      },
      {
        type: 'identify',
        messageId: ids.missing,
        userId: 'u-unknown',
        traits: { email: 'unknown@example.com' },
      },
      // An identify that only carries a consent change follows the same rule.
      {
        type: 'identify',
        messageId: ids.consentOnly,
        userId: 'u-yes',
        context: consent({ Advertising: false }),
      },
    ])
    const rows = await waitForLedger(Object.values(ids), { rows: 8 })
    const outcome = (destination: string, id: string) => {
      const row = rows.find(
        (candidate) => candidate.destination === destination && candidate.message_id === id,
      )
      return [row?.status, row?.reason, row?.response_summary]
    }
    expect(outcome('CrowdPower', ids.granted)[0]).toBe('delivered')
    expect(outcome('CrowdPower', ids.denied)).toEqual([
      'dropped',
      'consent_denied',
      'Advertising not granted',
    ])
    expect(outcome('CrowdPower', ids.missing)).toEqual([
      'dropped',
      'consent_missing',
      'no context.consent.categoryPreferences',
    ])
    expect(outcome('CrowdPower', ids.consentOnly)).toEqual([
      'dropped',
      'consent_denied',
      'Advertising not granted',
    ])
    for (const id of Object.values(ids)) expect(outcome('Calixa', id)[0]).toBe('delivered')

    const sent = JSON.stringify(await tenant.requests('crowdpower'))
    expect(sent).toContain('yes@example.com')
    expect(sent).not.toContain('no@example.com')
    expect(sent).not.toContain('unknown@example.com')
    expect(await tenant.requests('crowdpower')).toHaveLength(1)

    const html = await dashboardHtml('/admin', await loginCookie())
    expect(await textsOf(html, 'article[data-destination="CrowdPower"] .reasons-dropped li')).toEqual([
      'consent_denied 2',
      'consent_missing 1',
    ])
  })

  it('sends events without consent by default (consentMissing: send)', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({
      CrowdPower: { ...sandboxDestinations(tenant).CrowdPower, consent: ['Advertising'] },
    })
    const id = messageId('consent-default')
    await sendBatch(source.writeKey, [
      { type: 'identify', messageId: id, userId: 'u-d', traits: { plan: 'pro' } },
    ])
    expect((await waitForLedger([id], { rows: 1 }))[0]?.status).toBe('delivered')
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})
