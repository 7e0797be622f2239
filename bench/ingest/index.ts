/**
 * The router's HTTP surface for the ingest load: the router's own `fetch`
 * (src/index.ts, unchanged) with a queue consumer that only acks. Under
 * `wrangler dev` the consumer runs in the same workerd process and thread as
 * ingest; on Cloudflare it is a separate invocation. Acking only, it costs what
 * the baseline's `/enqueue/v1/*` consumer costs, so router and queue floor are
 * measured alike, and delivery is measured on its own (bench/lib/delivery.ts).
 * Served with the router's wrangler.toml (same bindings, same queue).
 */

import type { Bindings } from '../../src/env'
import router from '../../src/index'
import type { QueuedDeliveryMessage } from '../../src/queue/message'

export default {
  fetch: router.fetch,
  queue(batch) {
    batch.ackAll()
  },
} satisfies ExportedHandler<Bindings, QueuedDeliveryMessage>
