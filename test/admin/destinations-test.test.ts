import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { SANDBOX_CREDENTIALS as creds } from '../../sandbox/credentials'
import type { TestExchange, TestSendResult } from '../../src/delivery/test-send'
import { listAudit } from '../../src/operations/log'
import { waitForLedger } from '../helpers/delivery'
import { sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { ADMIN_TOKEN, basicAuth, putConfig, routerFetch } from '../helpers/router'
import { type RecordedRequest, type SandboxPartner, SandboxTenant } from '../helpers/sandbox'

/**
 * POST /admin/destinations/:id/test (issue 16, the test console) against the
 * partner sandbox: what the partner got and answered, secrets redacted; the
 * destination's rules applied; nothing in the ledger; one audit entry per test.
 */

const tenant = new SandboxTenant()
const destinations = sandboxDestinations(tenant)
const REDACTED = '<redacted>'

/** Crisp drops a track of an unknown user at once (no grace retry), so the ledger test's rows settle. */
const CONSOLE = {
  name: 'console',
  writeKey: 'wk_console_12345',
  destinations: { ...destinations, Crisp: { ...destinations.Crisp, unknownUserGraceSeconds: 0 } },
}
/** Rules on two destinations and a disabled third, to see routing explained. */
const RULED = {
  name: 'console-rules',
  writeKey: 'wk_console_rules_1',
  destinations: {
    CrowdPower: {
      ...destinations.CrowdPower,
      filters: [{ name: 'no-orders', action: 'drop', events: ['Order Completed'] }],
    },
    Calixa: { ...destinations.Calixa, fields: { deny: ['traits.email', 'traits.phone'] } },
    Crisp: { ...destinations.Crisp, enabled: false },
  },
}

/** Every form in which a sandbox credential could leak into an answer. */
const SECRETS = [
  `${creds.crisp.identifier}:${creds.crisp.key}`,
  creds.crisp.key,
  btoa(`${creds.crisp.identifier}:${creds.crisp.key}`),
  creds.crossingMinds.password,
  creds.crowdPower.publicKey,
  creds.calixa.apiKey,
  btoa(`${creds.calixa.apiKey}:`),
]

beforeAll(async () => {
  await putConfig({ sources: [CONSOLE, RULED] })
})

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }

function testPath(source: string, destination: string): string {
  return `/admin/destinations/${encodeURIComponent(`${source}:${destination}`)}/test`
}

interface Answer {
  status: number
  text: string
  body: TestSendResult & { success: boolean; issues?: { path: string; message: string }[]; error?: string }
}

async function post(path: string, body: unknown, headers: Record<string, string> = admin): Promise<Answer> {
  const response = await routerFetch(path, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) }
}

function expectNoSecret(text: string, extra: string[] = []): void {
  for (const secret of [...SECRETS, ...extra]) expect(text).not.toContain(secret)
}

/** The exchange shown is the request the sandbox recorded: method, path, body (redacted where it held a secret). */
function expectRecorded(shown: TestExchange, recorded: RecordedRequest | undefined, partner: SandboxPartner) {
  expect(recorded).toBeDefined()
  expect(shown.method).toBe(recorded?.method)
  expect(shown.url).toBe(`${tenant.apiBase(partner)}${recorded?.path}`)
  expect(shown.response.status).toBe(recorded?.status)
  expect(shown.sent).toBe(true)
}

describe('a test send to each partner, as the sandbox saw it', () => {
  it('Crisp: an identify creates the profile and sets its data; the keypair is redacted', async () => {
    const before = (await tenant.requests('crisp')).length
    const answer = await post(testPath('console', 'Crisp'), { sample: 'identify' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body).toMatchObject({
      success: true,
      destination: { id: 'console:Crisp', source: 'console', name: 'Crisp', enabled: true },
      routed: true,
      outcome: { status: 'delivered' },
    })
    expect(answer.body.explanation).toMatch(/^delivered: Crisp accepted it \(HTTP 2\d\d\)/)
    const recorded = (await tenant.requests('crisp')).slice(before)
    expect(answer.body.exchanges).toHaveLength(recorded.length)
    answer.body.exchanges.forEach((shown, index) => {
      expectRecorded(shown, recorded[index], 'crisp')
      expect(shown.body).toEqual(recorded[index]?.body)
      expect(shown.headers.authorization).toBe(REDACTED)
      expect(shown.headers['x-crisp-tier']).toBe('plugin')
    })
    const [profile] = answer.body.exchanges
    expect(profile?.url).toBe(`${tenant.apiBase('crisp')}/v1/website/${creds.crisp.websiteId}/people/profile`)
    expect(profile?.body).toMatchObject({ email: 'peter@example.com' })
    // The partner did get the real credential; only the answer hides it.
    expect(recorded[0]?.headers.authorization).toBe(`Basic ${SECRETS[2]}`)
    expectNoSecret(answer.text)
  })

  it('Crossing Minds (`console:Crossing%20Minds`): the login hides password and tokens, the interaction its JWT', async () => {
    const before = (await tenant.requests('crossingminds')).length
    const answer = await post('/admin/destinations/console:Crossing%20Minds/test', { sample: 'track' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.outcome).toMatchObject({ status: 'delivered', partnerStatus: 201 })
    const recorded = (await tenant.requests('crossingminds')).slice(before)
    const shown = answer.body.exchanges
    expect(
      shown.map(
        (exchange) => `${exchange.method} ${exchange.url.slice(tenant.apiBase('crossingminds').length)}`,
      ),
    ).toEqual(['POST /v1/login/service/', 'POST /v1/users/019mr8mf4r/interactions-bulk/'])
    for (const [index, exchange] of shown.entries())
      expectRecorded(exchange, recorded[index], 'crossingminds')
    expect(shown[0]?.body).toEqual({ ...(recorded[0]?.body as object), password: REDACTED })
    expect(shown[0]?.response.body).toMatchObject({ token: REDACTED, refresh_token: REDACTED })
    expect(shown[1]?.headers.authorization).toBe(REDACTED)
    expect(shown[1]?.body).toEqual(recorded[1]?.body)
    expect(shown[1]?.body).toMatchObject({
      interactions: [{ item_id: '507f1f77bcf86cd799439011', interaction_type: 'Order Completed' }],
    })
    // The session the login handed out, as the partner saw it used: nowhere in the answer.
    const jwt = recorded[1]?.headers.authorization?.replace(/^Bearer /, '') ?? ''
    expect(jwt.length).toBeGreaterThan(20)
    expectNoSecret(answer.text, [jwt])
  })

  it('CrowdPower: a page becomes a "Page Viewed" event; the key is redacted', async () => {
    const before = (await tenant.requests('crowdpower')).length
    const answer = await post(testPath('console', 'CrowdPower'), { sample: 'page' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.outcome).toEqual({ status: 'delivered', partnerStatus: 200 })
    const recorded = (await tenant.requests('crowdpower')).slice(before)
    expect(answer.body.exchanges).toHaveLength(1)
    const [shown] = answer.body.exchanges
    expectRecorded(shown as TestExchange, recorded[0], 'crowdpower')
    expect(shown?.url).toBe(`${tenant.apiBase('crowdpower')}/events`)
    expect(shown?.headers.authorization).toBe(REDACTED)
    expect(shown?.body).toEqual(recorded[0]?.body)
    expect(shown?.body).toMatchObject({ user_id: '019mr8mf4r', action: 'Page Viewed' })
    expect(shown?.response.body).toMatchObject({ success: true })
    expectNoSecret(answer.text)
  })

  it('Calixa: a group is posted raw to the endpoint with Basic auth redacted', async () => {
    const before = (await tenant.requests('calixa')).length
    const answer = await post(testPath('console', 'Calixa'), { sample: 'group' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.outcome).toMatchObject({ status: 'delivered', partnerStatus: 200 })
    const recorded = (await tenant.requests('calixa')).slice(before)
    const [shown] = answer.body.exchanges
    expectRecorded(shown as TestExchange, recorded[0], 'calixa')
    expect(shown?.url).toBe(`${tenant.apiBase('calixa')}/segment/webhook`)
    expect(shown?.headers).toMatchObject({ authorization: REDACTED, 'user-agent': 'Segment.io/1.0' })
    expect(shown?.body).toEqual(recorded[0]?.body)
    expect(shown?.body).toMatchObject({
      type: 'group',
      groupId: 'acct_123',
      messageId: answer.body.event.messageId,
    })
    expectNoSecret(answer.text)
  })

  it('a pasted event is sent as pasted, and a secret pasted into it is redacted in the answer', async () => {
    const answer = await post(testPath('console', 'Calixa'), {
      event: {
        type: 'identify',
        userId: 'pasted-user',
        traits: { email: 'pasted@example.com', note: `key ${creds.calixa.apiKey} leaked` },
      },
    })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.outcome.status).toBe('delivered')
    expect(answer.body.event).toMatchObject({
      userId: 'pasted-user',
      traits: { note: `key ${REDACTED} leaked` },
    })
    // Stamped as ingest stamps it: a derived messageId and the server's times.
    expect(answer.body.event.messageId).toMatch(/^rtr-[0-9a-f]{64}$/)
    expect(answer.body.event.receivedAt).toEqual(answer.body.event.timestamp)
    expectNoSecret(answer.text)
  })
})

describe('routing rules, as in real delivery', () => {
  it('explains a filtered event and sends nothing', async () => {
    const before = (await tenant.requests()).length
    const answer = await post(testPath('console-rules', 'CrowdPower'), { sample: 'track' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body).toMatchObject({
      routed: false,
      outcome: { status: 'dropped', reason: 'filtered', detail: 'no-orders' },
      exchanges: [],
    })
    expect(answer.body.explanation).toBe('not sent: the filter rule "no-orders" drops this event')
    expect((await tenant.requests()).length).toBe(before)
  })

  it('explains a call type the destination does not take', async () => {
    const answer = await post(testPath('console', 'Crisp'), { sample: 'alias' })
    expect(answer.body).toMatchObject({
      routed: false,
      outcome: { status: 'dropped', reason: 'unsupported_call' },
    })
    expect(answer.body.explanation).toBe('not sent: Crisp does not take alias calls')
  })

  it('explains an event whose integrations turn the destination off', async () => {
    const answer = await post(testPath('console', 'CrowdPower'), {
      event: { type: 'track', userId: 'u-off', event: 'Signed Up', integrations: { All: false } },
    })
    expect(answer.body.outcome).toEqual({ status: 'dropped', reason: 'integrations_off' })
    expect(answer.body.exchanges).toEqual([])
  })

  it('applies field controls before the partner sees the event', async () => {
    const before = (await tenant.requests('calixa')).length
    const answer = await post(testPath('console-rules', 'Calixa'), { sample: 'identify' })
    expect(answer.body.outcome.status).toBe('delivered')
    const [recorded] = (await tenant.requests('calixa')).slice(before)
    const traits = (recorded?.body as { traits?: Record<string, unknown> } | undefined)?.traits
    expect(traits).toMatchObject({ firstName: 'Peter' })
    expect(traits).not.toHaveProperty('email')
    expect(traits).not.toHaveProperty('phone')
    expect(answer.body.event.type === 'identify' && answer.body.event.traits).toEqual(traits)
  })

  it('tests a disabled destination all the same, and says it is disabled', async () => {
    const answer = await post(testPath('console-rules', 'Crisp'), { sample: 'identify' })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.destination.enabled).toBe(false)
    expect(answer.body.outcome.status).toBe('delivered')
  })
})

describe('what a test leaves behind', () => {
  it('changes no ledger row and no count, even for the messageId of a delivered event', async () => {
    const id = messageId('console-ledger')
    const tracked = await routerFetch('/v1/track', {
      method: 'POST',
      headers: { Authorization: basicAuth(CONSOLE.writeKey) },
      body: JSON.stringify({ messageId: id, userId: 'ledger-user', event: 'Signed Up' }),
    })
    expect(tracked.status).toBe(200)
    await waitForLedger([id], { rows: 4 })

    const snapshot = async () => {
      const until = Date.now() + 3_600_000
      const [rows, stats] = await Promise.all([
        routerFetch('/admin/deliveries?source=console&limit=500', { headers: admin }).then((r) => r.json()),
        routerFetch(`/admin/stats?source=console&since=0&until=${until}`, { headers: admin }).then((r) =>
          r.json(),
        ),
      ])
      return { rows, counts: (stats as { counts: unknown }).counts }
    }
    const before = await snapshot()
    for (const destination of ['CrowdPower', 'Calixa']) {
      const answer = await post(testPath('console', destination), {
        event: { type: 'track', messageId: id, userId: 'ledger-user', event: 'Signed Up' },
      })
      expect(answer.status, answer.text).toBe(200)
      expect(answer.body.event.messageId).toBe(id)
    }
    expect((await post(testPath('console', 'CrowdPower'), { sample: 'identify' })).status).toBe(200)
    expect(await snapshot()).toEqual(before)
  })

  it('appends one audit entry per test: who, when, which destination, no event data', async () => {
    const started = Date.now()
    await post(testPath('console', 'CrowdPower'), { sample: 'track' })
    await post(testPath('console-rules', 'CrowdPower'), { sample: 'track' })
    await post(testPath('console', 'CrowdPower'), {
      event: { type: 'identify', userId: 'audit-user', traits: { email: 'audit-secret@example.com' } },
    })
    const [pasted, sample] = await listAudit(env, 2, 'console:CrowdPower')
    expect(sample).toMatchObject({
      actor: 'admin',
      action: 'destination.tested',
      target: 'console:CrowdPower',
      detail: 'sample track: delivered (HTTP 200)',
    })
    expect(pasted).toMatchObject({ actor: 'admin', detail: 'pasted event: delivered (HTTP 200)' })
    expect(pasted?.at).toBeGreaterThanOrEqual(started)
    const [filtered] = await listAudit(env, 1, 'console-rules:CrowdPower')
    expect(filtered?.detail).toBe('sample track: dropped (filtered)')
    expect(JSON.stringify(await listAudit(env, 50))).not.toMatch(/audit-user|audit-secret/)
  })
})

/** Refused requests are all aimed at `console:CrowdPower` (or at no destination), so its audit list is the one to watch. */
describe('refused requests: a 4xx, nothing sent, nothing audited', () => {
  async function expectRefused(path: string, body: unknown, status: number) {
    const sentBefore = (await tenant.requests()).length
    const audited = () => listAudit(env, 1000, 'console:CrowdPower')
    const auditBefore = (await audited()).length
    const answer = await post(path, body)
    expect(answer.status, answer.text).toBe(status)
    expect(answer.body.success).toBe(false)
    expect((await tenant.requests()).length).toBe(sentBefore)
    expect((await audited()).length).toBe(auditBefore)
    return answer.body
  }

  it.each([
    [
      { event: { type: 'track', userId: 'u1' } },
      [{ path: 'event.event', message: 'event is required on track' }],
    ],
    [
      { event: { type: 'identify', traits: {} } },
      [{ path: 'event.userId', message: 'userId or anonymousId is required' }],
    ],
    [
      { event: { type: 'track', userId: 'u1', event: 'X', properties: [] } },
      [{ path: 'event.properties', message: 'must be an object, not an array' }],
    ],
    [
      { event: { type: 'teleport', userId: 'u1' } },
      [{ path: 'event.type', message: expect.stringMatching(/^type must be one of/) }],
    ],
    [
      { sample: 'teleport' },
      [{ path: 'sample', message: expect.stringMatching(/^sample must be one of identify, track/) }],
    ],
    [{ sample: 'track', event: { type: 'track' } }, [{ path: '', message: 'give either sample or event' }]],
    [{}, [{ path: '', message: 'give either sample or event' }]],
    [
      { smaple: 'track' },
      [expect.objectContaining({ message: expect.stringMatching(/unknown key "smaple"/) })],
    ],
  ])('a bad body %j is a 400 naming where', async (body, issues) => {
    const answer = await expectRefused(testPath('console', 'CrowdPower'), body, 400)
    expect(answer.issues).toEqual(expect.arrayContaining(issues))
  })

  it('refuses an array, a string and text that is not JSON', async () => {
    await expectRefused(testPath('console', 'CrowdPower'), [], 400)
    await expectRefused(testPath('console', 'CrowdPower'), '"track"', 400)
    expect((await expectRefused(testPath('console', 'CrowdPower'), '{"sample":', 400)).error).toBe(
      'invalid_json',
    )
  })

  it('refuses an event over 32 KB with a 413', async () => {
    const event = { type: 'track', userId: 'u1', event: 'Big', properties: { blob: 'x'.repeat(40_000) } }
    await expectRefused(testPath('console', 'CrowdPower'), { event }, 413)
  })

  it.each([
    ['console:Mailchimp', 404],
    ['nosuch:Crisp', 404],
    ['console:constructor', 404],
    ['console:crisp', 404],
    ['Crisp', 400],
    ['console:', 400],
    [':Crisp', 400],
  ])('an id %s that names no configured destination is a %i', async (id, status) => {
    const answer = await expectRefused(
      `/admin/destinations/${encodeURIComponent(id)}/test`,
      { sample: 'track' },
      status,
    )
    expect(answer.error).toBe(status === 404 ? 'not_found' : 'invalid_destination_id')
  })

  it('needs the admin token', async () => {
    const answer = await post(testPath('console', 'CrowdPower'), { sample: 'track' }, {})
    expect(answer.status).toBe(401)
  })
})
