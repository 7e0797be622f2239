import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/schema'
import { routeEvent } from '../../src/delivery/routing'
import {
  buildFunnels,
  FUNNEL_STAGES,
  ROUTING_DROPS,
  SAMPLED_REASONS_MAX,
  sampleTargets,
  scrub,
  stageOf,
  toSample,
} from '../../src/ledger/funnel'
import { countedWindow, funnelQuerySchema, readFunnelQuery } from '../../src/ledger/funnel-report'
import { LEDGER_STATUSES } from '../../src/ledger/state'
import type { LedgerRow, StatsRow } from '../../src/ledger/types'
import type { SegmentEvent } from '../../src/segment/schema'
import { sandboxDestinations } from '../helpers/destinations'
import { SandboxTenant } from '../helpers/sandbox'

/** The funnel's pure parts: stages from rollup counts, the routing reasons, samples and redaction. */

describe('every drop routing makes has a stage', () => {
  it('routes events down every drop path and finds each reason placed', () => {
    const destinations = sandboxDestinations(new SandboxTenant())
    const validated = validateConfig({
      sources: [
        {
          name: 'web',
          writeKey: 'wk_funnel_routing',
          consentMissing: 'drop',
          destinations: {
            CrowdPower: { ...destinations.CrowdPower, consent: ['Advertising'] },
            Crisp: {
              ...destinations.Crisp,
              filters: [{ name: 'no-tests', action: 'drop', events: ['Test *'] }],
            },
          },
        },
      ],
    })
    if (!validated.ok) throw new Error(JSON.stringify(validated.issues))
    const source = validated.config.sources[0]
    const crisp = source?.destinations.Crisp
    if (!source || !crisp) throw new Error('no source')
    // A destination removed from the code since the config was saved.
    source.destinations['Gone Partner'] = crisp
    const at = (event: Partial<SegmentEvent>) =>
      ({ messageId: 'm', timestamp: '2024-01-01T00:00:00Z', ...event }) as SegmentEvent
    const events = [
      at({ type: 'track', userId: 'u', event: 'Test Run' }),
      at({ type: 'track', userId: 'u', event: 'Ok', integrations: { All: false } }),
      at({ type: 'page', userId: 'u' }),
      at({ type: 'track', userId: 'u', event: 'Ok' }),
      at({ type: 'track', userId: 'u', event: 'Ok', context: { consent: { categoryPreferences: {} } } }),
    ]
    const reasons = new Set(
      events.flatMap((event) =>
        routeEvent(event, source).flatMap((decision) => ('drop' in decision ? [decision.drop] : [])),
      ),
    )
    expect([...reasons].sort()).toEqual(
      [
        'consent_denied',
        'consent_missing',
        'filtered',
        'integrations_off',
        'unknown_destination',
        'unsupported_call',
      ].sort(),
    )
    for (const reason of reasons) expect(Object.keys(ROUTING_DROPS)).toContain(reason)
  })

  it('counts routing drops as filtered, unsupported calls and the destination’s own drops as dropped', () => {
    for (const reason of Object.keys(ROUTING_DROPS))
      expect(stageOf('dropped', reason)).toBe(reason === 'unsupported_call' ? 'dropped' : 'filtered')
    for (const reason of ['unknown_user', 'missing_user_id', 'email_required', null])
      expect(stageOf('dropped', reason)).toBe('dropped')
    expect(stageOf('failed', 'http_400')).toBe('failed')
    expect(stageOf('retrying', null)).toBe('retrying')
    expect(stageOf('delivered', null)).toBe('delivered')
    // Every status the ledger has lands somewhere; one it does not know is left out.
    for (const status of LEDGER_STATUSES) expect(FUNNEL_STAGES).toContain(stageOf(status, null))
    expect(stageOf('someday', null)).toBeUndefined()
  })
})

const row = (destination: string, status: StatsRow['status'], reason: string | null, count: number) =>
  ({ destination, status, reason, count }) satisfies StatsRow

describe('buildFunnels', () => {
  it('places every count once, so the stages add up to what was received', () => {
    const [crisp, idle] = buildFunnels(
      [
        row('Crisp', 'delivered', null, 5),
        row('Crisp', 'dropped', 'filtered', 2),
        row('Crisp', 'dropped', 'consent_denied', 1),
        row('Crisp', 'dropped', 'unknown_user', 3),
        row('Crisp', 'dropped', 'unsupported_call', 4),
        row('Crisp', 'retrying', null, 1),
        row('Crisp', 'failed', 'http_400', 2),
        row('Crisp', 'failed', 'retries_exhausted: http_503', 1),
      ],
      ['Idle'],
    )
    expect(crisp).toMatchObject({
      destination: 'Crisp',
      received: 19,
      attempted: 9,
      filtered: { count: 3 },
      dropped: { count: 7 },
      parked: { count: 0, reasons: [] },
      delivered: { count: 5 },
      retrying: { count: 1 },
      failed: { count: 3 },
    })
    expect(crisp?.dropped.reasons.map((entry) => [entry.reason, entry.count])).toEqual([
      ['unsupported_call', 4],
      ['unknown_user', 3],
    ])
    expect(crisp?.filtered.reasons.map((entry) => entry.status)).toEqual(['dropped', 'dropped'])
    expect(idle).toMatchObject({ destination: 'Idle', received: 0, attempted: 0, failed: { count: 0 } })
  })

  it('samples failures first, then drops, largest first, at most the cap', () => {
    const many = Array.from({ length: 15 }, (_, index) => row('A', 'dropped', `missing_${index}`, index + 1))
    const funnels = buildFunnels(
      [
        ...many,
        row('A', 'failed', 'http_400', 1),
        row('B', 'failed', 'http_401', 2),
        row('A', 'delivered', null, 9),
      ],
      [],
    )
    const targets = sampleTargets(funnels)
    expect(targets).toHaveLength(SAMPLED_REASONS_MAX)
    expect(targets.slice(0, 3).map((target) => [target.destination, target.entry.reason])).toEqual([
      ['B', 'http_401'],
      ['A', 'http_400'],
      ['A', 'missing_14'],
    ])
    expect(targets.some((target) => target.entry.status === 'delivered')).toBe(false)
  })
})

describe('samples', () => {
  it('leave the userId out and scrub it and email addresses from what they show', () => {
    const ledgerRow: LedgerRow = {
      source: 'web',
      message_id: 'm-1',
      destination: 'Crisp',
      ingest_id: 'i',
      event_type: 'group',
      event_name: 'acct-user-42',
      user_id: 'acct-user-42',
      status: 'failed',
      reason: 'http_400',
      attempts: 1,
      next_attempt_at: null,
      last_error: 'invalid email ada@example.com',
      partner_status: 400,
      response_summary: '{"error":"user acct-user-42 <ada.l@mail.example.org> refused"}',
      duplicates: 0,
      replays: 0,
      created_at: 1,
      window_started_at: 1,
      updated_at: 2,
      event_updated_at: 2,
      recorded_us: 2000,
    }
    const sample = toSample(ledgerRow)
    const shown = JSON.stringify(sample)
    expect(shown).not.toContain('acct-user-42')
    expect(shown).not.toContain('example')
    expect(sample).toMatchObject({ messageId: 'm-1', type: 'group', attempts: 1, partnerStatus: 400 })
    expect(sample.summary).toBe('{"error":"user <redacted> <<redacted>> refused"}')
    // A one-letter userId is not scrubbed out of every word.
    expect(scrub('a bad answer', 'a')).toBe('a bad answer')
  })
})

describe('the query', () => {
  const schema = funnelQuerySchema(['Crisp', 'CrowdPower'])
  const now = Date.UTC(2024, 0, 2)

  it('defaults to the last 24 hours and counts whole 5-minute buckets', () => {
    const read = readFunnelQuery(schema, {}, now + 1)
    expect(read).toEqual({ ok: true, query: {}, window: { since: now + 1 - 86_400_000, until: now + 1 } })
    if (read.ok)
      expect(countedWindow(read.window)).toEqual({ since: now - 86_400_000 + 300_000, until: now + 300_000 })
  })

  it('refuses what it cannot answer, saying where', () => {
    const issues = (query: Record<string, string>) => {
      const read = readFunnelQuery(schema, query, now)
      return read.ok ? [] : read.issues.map((issue) => issue.path)
    }
    expect(issues({ destination: 'Nope' })).toEqual(['destination'])
    expect(issues({ since: String(now), until: String(now) })).toEqual(['until'])
    expect(issues({ since: String(now + 1) })).toEqual(['since'])
    expect(issues({ since: '0', until: String(now) })).toEqual(['since'])
    expect(issues({ since: String(now - 1000), range: '1h' })).toEqual(['range'])
    expect(issues({ range: '2h' })).toEqual(['range'])
    expect(issues({ destination: '', range: '7d' })).toEqual([])
  })
})
