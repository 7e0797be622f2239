import { app } from './app'
import { consumeDeliveryBatch } from './delivery/consumer'
import type { DeliveryMessage } from './delivery/message'
import type { Bindings } from './env'

export default {
  fetch: app.fetch,
  queue: consumeDeliveryBatch,
} satisfies ExportedHandler<Bindings, DeliveryMessage>
