import type { Bindings } from '../env'
import type { Clock } from '../lib/clock'
import { consumeDeliveries } from './consume'
import { consumeDeadLetters } from './dead-letters'
import type { QueuedDeliveryMessage } from './message'

/** The dead-letter queue's name in wrangler.toml, unless DEAD_LETTER_QUEUE_NAME says otherwise. */
const DEFAULT_DEAD_LETTER_QUEUE = 'segment-router-dead-letters'

/** The Worker's `queue` handler: the delivery queue and its dead-letter queue both come here. */
export function createQueueHandler(clock: Clock) {
  return (batch: MessageBatch<QueuedDeliveryMessage>, env: Bindings): Promise<void> =>
    batch.queue === (env.DEAD_LETTER_QUEUE_NAME ?? DEFAULT_DEAD_LETTER_QUEUE)
      ? consumeDeadLetters(batch, env, clock)
      : consumeDeliveries(batch, env, clock)
}
