/**
 * Cloudflare list prices (Workers Paid), USD. Source: developers.cloudflare.com
 * pricing pages for Workers, Queues, Workers KV and D1. Free allowances and the
 * $5 monthly minimum are ignored: this is the marginal cost of traffic.
 */
export const PRICES = {
  workerRequests: {
    label: 'Worker requests',
    usdPerMillion: 0.3,
    unit: 'requests',
    source: 'Workers Standard: $0.30 per million requests',
  },
  cpuMs: {
    label: 'Worker CPU ms',
    usdPerMillion: 0.02,
    unit: 'CPU ms',
    source: 'Workers Standard: $0.02 per million CPU milliseconds',
  },
  queueOps: {
    label: 'Queue operations',
    usdPerMillion: 0.4,
    unit: 'operations',
    source:
      'Queues: $0.40 per million operations; each 64 KB of a message written, read or deleted is one operation',
  },
  kvReads: {
    label: 'KV reads',
    usdPerMillion: 0.5,
    unit: 'reads',
    source: 'Workers KV: $0.50 per million reads',
  },
  kvWrites: {
    label: 'KV writes, deletes, lists',
    usdPerMillion: 5,
    unit: 'writes, deletes, lists',
    source: 'Workers KV: $5.00 per million writes (deletes and lists are billed the same)',
  },
  d1RowsRead: {
    label: 'D1 rows read',
    usdPerMillion: 0.001,
    unit: 'rows read',
    source: 'D1: $0.001 per million rows read',
  },
  d1RowsWritten: {
    label: 'D1 rows written',
    usdPerMillion: 1,
    unit: 'rows written',
    source: 'D1: $1.00 per million rows written',
  },
} as const

export type PriceKey = keyof typeof PRICES

export interface CostLine {
  item: PriceKey
  perEvent: number
  usdPerMillionEvents: number
}

/** Operations per event → USD per million events, line by line. */
export function costPerMillionEvents(perEvent: Record<PriceKey, number>): {
  lines: CostLine[]
  total: number
} {
  const lines = (Object.keys(PRICES) as PriceKey[]).map((item) => ({
    item,
    perEvent: perEvent[item],
    // (ops per event × 1e6 events) × (price per 1e6 ops)
    usdPerMillionEvents: perEvent[item] * PRICES[item].usdPerMillion,
  }))
  return { lines, total: lines.reduce((sum, line) => sum + line.usdPerMillionEvents, 0) }
}
