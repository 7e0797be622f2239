import { app } from './app'
import type { Bindings } from './env'
import { systemClock } from './lib/clock'
import { createScheduledHandler } from './operations/alerts/scheduled'
import { createQueueHandler } from './queue/handler'
import type { QueuedDeliveryMessage } from './queue/message'

export { LedgerShard } from './ledger/shard'
export { DestinationGate } from './operations/gate'
export { OperationsLog } from './operations/log'
export { ReplayRunner } from './queue/replay-runner'

export default {
  fetch: app.fetch,
  queue: createQueueHandler(systemClock),
  scheduled: createScheduledHandler(systemClock),
} satisfies ExportedHandler<Bindings, QueuedDeliveryMessage>
