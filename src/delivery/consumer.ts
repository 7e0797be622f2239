import type { Bindings } from '../env'
import type { DeliveryMessage } from './message'

/** Queue consumer: fans each event out to its destinations (placeholder until the delivery pipeline lands). */
export async function consumeDeliveryBatch(
  batch: MessageBatch<DeliveryMessage>,
  _env: Bindings,
): Promise<void> {
  batch.ackAll()
}
