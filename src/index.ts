import { app } from './app'
import { consumeDeliveryBatch } from './delivery/consumer'
import type { Bindings } from './env'
import { type QueuedDeliveryMessage, readDeliveryBatch } from './queue/message'

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeDeliveryBatch(readDeliveryBatch(batch), env),
} satisfies ExportedHandler<Bindings, QueuedDeliveryMessage>
