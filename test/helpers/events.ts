import { expect } from 'vitest'
import type { SegmentEvent } from '../../src/segment/schema'
import { basicAuth, routerFetch } from './router'

let counter = 0

/** A unique messageId, so each test's rows are its own. */
export function messageId(label = 'msg'): string {
  counter += 1
  return `${label}-${counter}-${crypto.randomUUID()}`
}

/** Posts events to /v1/batch with the write key as Basic auth and expects them all accepted. */
export async function sendBatch(writeKey: string, batch: Record<string, unknown>[]): Promise<void> {
  const response = await routerFetch('/v1/batch', {
    method: 'POST',
    headers: { Authorization: basicAuth(writeKey), 'Content-Type': 'application/json' },
    body: JSON.stringify({ batch }),
  })
  const body = (await response.json()) as { success: boolean; accepted?: number }
  expect(response.status, JSON.stringify(body)).toBe(200)
  expect(body.accepted ?? batch.length).toBe(batch.length)
}

/** An identify as the consumer takes it from the queue: stamped now, userId `u-<messageId>`. */
export function identifyEvent(id: string, traits?: Record<string, unknown>): SegmentEvent {
  const now = new Date().toISOString()
  return {
    type: 'identify',
    messageId: id,
    userId: `u-${id}`,
    ...(traits && { traits }),
    receivedAt: now,
    timestamp: now,
  }
}
