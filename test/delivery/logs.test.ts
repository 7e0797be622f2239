import { afterEach, expect, it, vi } from 'vitest'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

afterEach(() => {
  vi.restoreAllMocks()
})

interface LogLine {
  level: string
  msg?: string
  messageId?: string
  count?: number
  unlogged?: number
  outcomes?: Record<string, unknown>
  tally?: Record<string, Record<string, Record<string, number>>>
}

/** Consumes one message of `events` (stamped now) and returns every line the Worker wrote, parsed. */
async function consumeLogged(
  source: string,
  events: Record<string, unknown>[],
): Promise<{ lines: LogLine[]; text: string }> {
  const raw: string[] = []
  for (const level of ['log', 'warn', 'error'] as const)
    vi.spyOn(console, level).mockImplementation((line: unknown) => void raw.push(String(line)))
  const now = new Date().toISOString()
  await consume({
    source,
    ingestId: crypto.randomUUID(),
    events: events.map((event) => ({ receivedAt: now, timestamp: now, ...event })) as SegmentEvent[],
  })
  vi.restoreAllMocks()
  return { lines: raw.map((line) => JSON.parse(line) as LogLine), text: raw.join('\n') }
}

it('a batch that went well writes one summary line counting its outcomes, and no personal data', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource(sandboxDestinations(tenant))
  const { lines, text } = await consumeLogged(source.name, [
    {
      type: 'identify',
      messageId: messageId('log'),
      userId: 'log-user',
      traits: { email: 'secret.person@example.com', plan: 'platinum-secret' },
    },
    {
      type: 'track',
      messageId: messageId('log'),
      userId: 'log-user',
      event: 'Product Viewed',
      properties: { product_id: 'sku-secret', note: 'private-note' },
    },
  ])

  expect(lines.filter((line) => line.msg === 'delivery')).toEqual([])
  const summaries = lines.filter((line) => line.msg === 'deliveries')
  expect(summaries).toHaveLength(1)
  expect(summaries[0]?.count).toBe(2)
  expect(summaries[0]?.tally).toEqual({
    [source.name]: {
      Crisp: { delivered: 2 },
      'Crossing Minds': { delivered: 2 },
      CrowdPower: { delivered: 2 },
      Calixa: { delivered: 1, dropped: 1 },
    },
  })
  for (const secret of ['secret.person', 'platinum-secret', 'sku-secret', 'private-note'])
    expect(text).not.toContain(secret)
})

it('an event with a failed or retrying pair gets its own line with every destination’s outcome', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource(sandboxDestinations(tenant))
  await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 } })
  await tenant.fault('calixa', { status: 503 })
  const identifyId = messageId('log')
  const trackId = messageId('log')
  const { lines } = await consumeLogged(source.name, [
    {
      type: 'identify',
      messageId: identifyId,
      userId: 'log-fail',
      traits: { email: 'log-fail@example.com' },
    },
    { type: 'track', messageId: trackId, userId: 'log-fail', event: 'Product Viewed' },
  ])

  const perEvent = lines.filter((line) => line.msg === 'delivery')
  expect(perEvent.map((line) => line.messageId).sort()).toEqual([identifyId, trackId].sort())
  expect(perEvent.every((line) => line.level === 'warn')).toBe(true)
  const identify = perEvent.find((line) => line.messageId === identifyId)
  expect(identify?.outcomes?.Crisp).toEqual({ status: 'delivered', partnerStatus: 200, attempt: 1 })
  expect(identify?.outcomes?.CrowdPower).toMatchObject({ status: 'failed', partnerStatus: 400, attempt: 1 })
  expect(identify?.outcomes?.Calixa).toMatchObject({ status: 'retrying', partnerStatus: 503, attempt: 1 })
  const track = perEvent.find((line) => line.messageId === trackId)
  expect(track?.outcomes?.Calixa).toEqual({ status: 'dropped', reason: 'unsupported_event', attempt: 1 })
  const summary = lines.find((line) => line.msg === 'deliveries')
  expect(summary?.tally?.[source.name]?.CrowdPower).toEqual({ failed: 2 })
  expect(summary?.unlogged).toBeUndefined()
})

it('a batch full of failures logs at most 100 event lines and counts the rest, so Workers Logs keeps them all', async () => {
  const tenant = new SandboxTenant()
  const { CrowdPower } = sandboxDestinations(tenant)
  const source = await configureSource({ CrowdPower })
  await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 } })
  const events = Array.from({ length: 104 }, () => ({
    type: 'track' as const,
    messageId: messageId('log-many'),
    userId: 'log-many',
    event: 'Product Viewed',
  }))
  const { lines, text } = await consumeLogged(source.name, events)

  expect(lines.filter((line) => line.msg === 'delivery')).toHaveLength(100)
  const summary = lines.find((line) => line.msg === 'deliveries')
  expect(summary).toMatchObject({
    count: 104,
    unlogged: 4,
    tally: { [source.name]: { CrowdPower: { failed: 104 } } },
  })
  // Far below the 256 KB Workers Logs keeps per invocation.
  expect(new TextEncoder().encode(text).length).toBeLessThan(64 * 1024)
})
