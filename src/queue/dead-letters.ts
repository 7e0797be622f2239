import { findSourceByName } from '../config/store'
import { routeEvent, routeOf } from '../delivery/routing'
import type { Bindings } from '../env'
import { eventMeta } from '../ledger/event-meta'
import type { DeadLetterEvent } from '../ledger/types'
import type { Clock } from '../lib/clock'
import { logWarn } from '../lib/log'
import { openBatch, retryAfterOwnFault } from './batch'
import type { QueuedDeliveryMessage } from './message'

/**
 * The dead-letter queue's consumer. A message lands there when the delivery
 * queue gave up on it (max_retries): whatever it carried is recorded, and each
 * of its pairs not yet settled becomes `failed` with reason `dead_lettered`
 * and the event kept, so the dashboard shows it and replay can send it. When
 * the ledger is down this consumer backs off too; nothing is acknowledged unrecorded.
 */
export async function consumeDeadLetters(
  batch: MessageBatch<QueuedDeliveryMessage>,
  env: Bindings,
  clock: Clock,
): Promise<void> {
  const opened = await openBatch(batch, env, clock)
  if (!opened) return
  const { ready, config, ledger } = opened
  for (const message of ready) {
    const { body, queued } = message
    const source = findSourceByName(config, body.source)
    if (!source) {
      logWarn({
        msg: 'dead letter of a source no longer configured',
        source: body.source,
        count: body.events.length,
      })
      queued.ack()
      continue
    }
    const events: DeadLetterEvent[] = body.events.map((event) => ({
      source: source.name,
      messageId: event.messageId,
      owner: body.ingestId,
      meta: eventMeta(event),
      routes: routeEvent(event, source, body.only).map(routeOf),
      body: JSON.stringify(event),
    }))
    try {
      const failed = await ledger.deadLetter(clock.now(), events)
      logWarn({ msg: 'dead letter recorded', source: source.name, reason: 'dead_lettered', count: failed })
      queued.ack()
    } catch {
      retryAfterOwnFault(env, [message], 'ledger_unavailable')
    }
  }
}
