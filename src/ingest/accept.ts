import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { type InputIssue, RouterError } from '../lib/errors'
import { enqueueEvents } from '../queue/produce'
import type { SegmentEvent } from '../segment/schema'
import { EVENT_LIMIT_NAME } from './limits'
import type { Outcome } from './normalize'

/** One event of a list that was not accepted, located by its position in the request. */
interface Rejection {
  index: number
  messageId?: string
  issues: InputIssue[]
}

/** A list where nothing was accepted: 400, with the same `rejected` entries a partial success reports. */
class RejectedEventsError extends RouterError {
  constructor(readonly rejected: Rejection[]) {
    super(400, 'all_events_rejected', 'no event in the request was accepted; see "rejected"')
  }

  override toResponse(): Response {
    const body = { success: false, error: this.code, message: this.message, rejected: this.rejected }
    return Response.json(body, { status: this.status })
  }
}

/**
 * Queues the accepted events of a request and answers. A lone event (a
 * single-event path, or a webhook carrying one object) fails the request when
 * it is invalid; in a list, bad events are reported by index and the rest go
 * through. Success stays Segment-compatible: 200 with `success: true`.
 */
export async function queueAndAnswer(
  c: Context<AppEnv>,
  source: string,
  outcomes: readonly Outcome[],
  shape: 'single' | 'list',
): Promise<Response> {
  const events: SegmentEvent[] = []
  const rejected: Rejection[] = []
  outcomes.forEach((outcome, index) => {
    if (outcome.ok) events.push(outcome.event)
    else rejected.push({ index, messageId: outcome.messageId, issues: outcome.issues })
  })

  const [lone] = outcomes
  if (shape === 'single' && lone && !lone.ok) {
    if (lone.tooLarge) {
      throw new RouterError(413, 'payload_too_large', `the event exceeds the limit of ${EVENT_LIMIT_NAME}`)
    }
    throw new RouterError(400, 'invalid_event', 'the event is invalid', lone.issues)
  }
  if (events.length === 0) throw new RejectedEventsError(rejected)

  await enqueueEvents(c.env.DELIVERY_QUEUE, source, events)
  return c.json({ success: true, accepted: events.length, rejected })
}
