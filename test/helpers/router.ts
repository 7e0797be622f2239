import { env, exports } from 'cloudflare:workers'
import { createHmac } from 'node:crypto'
import { beforeEach, expect, vi } from 'vitest'
import type { DeliveryMessage, QueuedDeliveryMessage } from '../../src/queue/message'
import type { SegmentEvent } from '../../src/segment/schema'

export const ORIGIN = 'http://router.test'

/** Calls the Worker's own fetch handler, as a request from outside would. */
export function routerFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init))
}

export const ADMIN_TOKEN = 'test-admin-token'

/** Stores a config document through the admin API; fails the test unless it was accepted. */
export async function putConfig(document: unknown): Promise<void> {
  const response = await routerFetch('/admin/config', {
    method: 'PUT',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(document),
  })
  expect(response.status, await response.clone().text()).toBe(200)
}

/** The `web` source most tests use: write key, webhook secret, no destinations. */
export const WEB = {
  name: 'web',
  writeKey: 'wk_test_123456',
  webhookSecret: 'whsec_12345678',
  destinations: {},
}

/** A source that takes Segment's batched webhooks, where only the first event is signed. */
export const BATCHED = {
  name: 'batched',
  writeKey: 'wk_batched_1234',
  webhookSecret: 'whsec_batched_1',
  acceptFirstEventSignature: true,
  destinations: {},
}

/** A source that takes unsigned webhooks. */
export const OPEN = { name: 'open', writeKey: 'wk_open_123456', allowUnsigned: true, destinations: {} }

/** `Basic base64("writeKey:")`; `colon: false` encodes the bare key, as some old clients do. */
export function basicAuth(writeKey: string, { colon = true } = {}): string {
  return `Basic ${btoa(colon ? `${writeKey}:` : writeKey)}`
}

export async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** Hex HMAC-SHA1, computed the way Segment's docs verify `X-Signature` (node:crypto, not the router's code). */
export function signHex(secret: string, body: string | Uint8Array): string {
  return createHmac('sha1', secret).update(body).digest('hex')
}

/**
 * Watches `DELIVERY_QUEUE.send` and `sendBatch` (the Worker runs in this
 * isolate and sees the same binding). Calls still reach the local queue unless
 * the test mocks them. `requests()` lists every call in order, each as the
 * messages it sent; `messages()` reads them, failing the test unless each is
 * the JSON text of a DeliveryMessage sent as `text`.
 */
export function spyOnQueue() {
  // The generated Env types the binding as a queue of unknown; the router sends QueuedDeliveryMessages.
  const queue: Queue<QueuedDeliveryMessage> = env.DELIVERY_QUEUE
  const send = vi.spyOn(queue, 'send')
  const sendBatch = vi.spyOn(queue, 'sendBatch')
  const requests = (): MessageSendRequest<QueuedDeliveryMessage>[][] =>
    [
      ...send.mock.calls.map(([body, options], index) => ({
        order: send.mock.invocationCallOrder[index] ?? 0,
        call: [{ body, contentType: options?.contentType }],
      })),
      ...sendBatch.mock.calls.map(([batch], index) => ({
        order: sendBatch.mock.invocationCallOrder[index] ?? 0,
        call: Array.from(batch),
      })),
    ]
      .sort((a, b) => a.order - b.order)
      .map(({ call }) => call)
  const messages = (): DeliveryMessage[] =>
    requests().flatMap((call) =>
      call.map((request) => {
        expect(request.contentType).toBe('text')
        expect(typeof request.body).toBe('string')
        return JSON.parse(request.body as string) as DeliveryMessage
      }),
    )
  const events = (): SegmentEvent[] => messages().flatMap((message) => message.events)
  return { send, sendBatch, requests, messages, events }
}

/** Before each test of the file: no spies left over, and a config holding exactly these sources. */
export function useSources(...sources: unknown[]): void {
  beforeEach(async () => {
    vi.restoreAllMocks()
    await putConfig({ sources })
  })
}

/** POSTs a raw body to a Tracking API path as the `web` source (Basic auth). */
export function postAsWeb(
  path: string,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<Response> {
  return routerFetch(path, {
    method: 'POST',
    headers: { Authorization: basicAuth(WEB.writeKey), ...headers },
    body,
  })
}

/** POSTs any value as JSON to a Tracking API path as the `web` source. */
export function postJsonAsWeb(
  path: string,
  value: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return postAsWeb(path, JSON.stringify(value), headers)
}

/**
 * Catches what the Worker queues (continuations, replays) instead of letting
 * the background consumer take it; `restore()` lets sends through again.
 */
export function catchQueueSends() {
  const send = vi.spyOn(env.DELIVERY_QUEUE, 'send').mockImplementation(async () => ({}) as QueueSendResponse)
  return {
    messages: () => send.mock.calls.map(([body]) => JSON.parse(String(body)) as DeliveryMessage),
    restore: () => send.mockRestore(),
  }
}

/** Replays exact pairs through the admin API, catching the message it queues: the answer and that message. */
export async function replayCaught(
  pairs: { source: string; messageId: string; destination: string }[],
): Promise<{ answer: unknown; queued: DeliveryMessage | undefined }> {
  const sends = catchQueueSends()
  try {
    const response = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ deliveries: pairs }),
    })
    return { answer: await response.json(), queued: sends.messages()[0] }
  } finally {
    sends.restore()
  }
}
