import { app } from './app'
import { consumeDeliveryBatch } from './delivery/consumer'
import { type QueuedDeliveryMessage, readDeliveryBatch } from './delivery/message'
import type { Bindings } from './env'

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeDeliveryBatch(readDeliveryBatch(batch), env),
} satisfies ExportedHandler<Bindings, QueuedDeliveryMessage>
