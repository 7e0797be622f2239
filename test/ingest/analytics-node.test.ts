import { exports } from 'cloudflare:workers'
import { Analytics, type HTTPClient } from '@segment/analytics-node'
import { expect, it } from 'vitest'
import { ORIGIN, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

interface Exchange {
  request: Request
  status: number
}

/**
 * The official library, unchanged except for its transport: its requests
 * (headers, body, batching, retries) go straight to the Worker's fetch handler.
 */
function analyticsAgainstRouter(exchanges: Exchange[]): Analytics {
  const httpClient: HTTPClient = {
    async makeRequest(options) {
      const request = new Request(options.url, {
        method: options.method,
        headers: options.headers,
        body: options.body,
      })
      const response = await exports.default.fetch(request.clone())
      exchanges.push({ request, status: response.status })
      return response
    },
  }
  return new Analytics({ writeKey: WEB.writeKey, host: ORIGIN, flushAt: 20, httpClient })
}

/** Resolves with the error the library reports for one call (undefined once delivered). */
const outcome = (send: (callback: (error?: unknown) => void) => void) =>
  new Promise<unknown>((resolve) => send(resolve))

/** Sends one call of each type and waits for the library's verdict on each. */
async function sendEveryCall(analytics: Analytics): Promise<unknown[]> {
  const results = [
    outcome((cb) => analytics.identify({ userId: 'u1', traits: { email: 'u1@example.com' } }, cb)),
    outcome((cb) =>
      analytics.track({ userId: 'u1', event: 'Order Completed', properties: { revenue: 42 } }, cb),
    ),
    outcome((cb) => analytics.page({ anonymousId: 'anon-1', name: 'Home', category: 'Docs' }, cb)),
    outcome((cb) => analytics.screen({ userId: 'u1', name: 'Settings' }, cb)),
    outcome((cb) => analytics.group({ userId: 'u1', groupId: 'acct_1', traits: { plan: 'pro' } }, cb)),
    outcome((cb) => analytics.alias({ userId: 'u1', previousId: 'anon-1' }, cb)),
  ]
  await analytics.closeAndFlush({ timeout: 20_000 })
  return Promise.all(results)
}

it('accepts and queues what @segment/analytics-node sends', async () => {
  const queue = spyOnQueue()
  const exchanges: Exchange[] = []
  const errors = await sendEveryCall(analyticsAgainstRouter(exchanges))
  expect(errors).toEqual(Array(6).fill(undefined))

  // One batch request, authenticated the way 3.1 does it: Basic header and writeKey in the body.
  expect(exchanges.map((exchange) => exchange.status)).toEqual([200])
  const [{ request }] = exchanges as [Exchange]
  expect(new URL(request.url).pathname).toBe('/v1/batch')
  expect(request.headers.get('authorization')).toBe(`Basic ${btoa(`${WEB.writeKey}:`)}`)
  const sent = (await request.json()) as { writeKey: string; batch: Array<{ messageId: string }> }
  expect(sent.writeKey).toBe(WEB.writeKey)

  const events = queue.events()
  expect(events.map((event) => event.type)).toEqual(['identify', 'track', 'page', 'screen', 'group', 'alias'])
  expect(events.map((event) => event.messageId)).toEqual(sent.batch.map((event) => event.messageId))
  for (const event of events) {
    expect(event.messageId).toMatch(/^node-next-/)
    expect(event.context?.library).toMatchObject({ name: '@segment/analytics-node' })
    expect(event.originalTimestamp).toBeDefined()
    expect(event.sentAt).toBeDefined()
    expect(event).not.toHaveProperty('writeKey')
  }
})

it('is retried by analytics-node after a 503, with the same messageIds', async () => {
  const queue = spyOnQueue()
  queue.send.mockRejectedValueOnce(new Error('Queue is overloaded'))
  const exchanges: Exchange[] = []
  const errors = await sendEveryCall(analyticsAgainstRouter(exchanges))
  expect(errors.every((error) => error === undefined)).toBe(true)
  expect(exchanges.map((exchange) => exchange.status)).toEqual([503, 200])
  expect(exchanges[1]?.request.headers.get('x-retry-count')).toBe('1')

  const [refused, accepted] = queue.messages()
  const ids = (message: typeof refused) => message?.events.map((e) => e.messageId)
  expect(ids(accepted)).toHaveLength(6)
  expect(ids(accepted)).toEqual(ids(refused))
}, 20_000)
