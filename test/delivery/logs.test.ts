import { afterEach, expect, it, vi } from 'vitest'
import { consume } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

afterEach(() => {
  vi.restoreAllMocks()
})

it('logs one delivery line per event with every destination’s outcome, and no personal data', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource(sandboxDestinations(tenant))
  const identifyId = messageId('log')
  const trackId = messageId('log')
  const now = new Date().toISOString()
  const stamp = { receivedAt: now, timestamp: now }
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)))
  vi.spyOn(console, 'warn').mockImplementation((line: unknown) => void lines.push(String(line)))

  const result = await consume({
    source: source.name,
    ingestId: crypto.randomUUID(),
    events: [
      {
        ...stamp,
        type: 'identify',
        messageId: identifyId,
        userId: 'log-user',
        traits: { email: 'secret.person@example.com', plan: 'platinum-secret' },
      },
      {
        ...stamp,
        type: 'track',
        messageId: trackId,
        userId: 'log-user',
        event: 'Product Viewed',
        properties: { product_id: 'sku-secret', note: 'private-note' },
      },
    ],
  })
  expect(result.explicitAcks).toHaveLength(1)

  const deliveries = lines
    .map(
      (line) => JSON.parse(line) as { msg?: string; messageId?: string; outcomes?: Record<string, unknown> },
    )
    .filter((line) => line.msg === 'delivery')
  expect(deliveries.map((line) => line.messageId).sort()).toEqual([identifyId, trackId].sort())
  const identify = deliveries.find((line) => line.messageId === identifyId)
  expect(Object.keys(identify?.outcomes ?? {}).sort()).toEqual([
    'Calixa',
    'Crisp',
    'Crossing Minds',
    'CrowdPower',
  ])
  expect(identify?.outcomes?.Crisp).toEqual({ status: 'delivered', partnerStatus: 200, attempt: 1 })
  const track = deliveries.find((line) => line.messageId === trackId)
  expect(track?.outcomes?.Calixa).toEqual({ status: 'dropped', reason: 'unsupported_event', attempt: 1 })

  for (const secret of ['secret.person', 'platinum-secret', 'sku-secret', 'private-note'])
    expect(lines.join('\n')).not.toContain(secret)
})
