/**
 * Cloudflare list prices (Workers Paid plan), USD, marginal: free allowances and
 * the $5 monthly minimum left out. Each with the page it comes from.
 */
export const PRICES = {
  workerRequests: {
    usdPerMillion: 0.3,
    unit: 'requests',
    source: 'developers.cloudflare.com/workers/platform/pricing',
  },
  cpuMs: {
    usdPerMillion: 0.02,
    unit: 'CPU ms',
    source: 'developers.cloudflare.com/workers/platform/pricing',
  },
  queueOps: {
    usdPerMillion: 0.4,
    unit: 'ops (write, read, delete; per 64 KB)',
    source: 'developers.cloudflare.com/queues/platform/pricing',
  },
  doRequests: {
    usdPerMillion: 0.15,
    unit: 'DO requests (RPC calls)',
    source: 'developers.cloudflare.com/durable-objects/platform/pricing',
  },
  doRowsRead: {
    usdPerMillion: 0.001,
    unit: 'SQLite rows read',
    source: 'developers.cloudflare.com/durable-objects/platform/pricing',
  },
  doRowsWritten: {
    usdPerMillion: 1,
    unit: 'SQLite rows written',
    source: 'developers.cloudflare.com/durable-objects/platform/pricing',
  },
  doRetentionDeletes: {
    usdPerMillion: 1,
    unit: 'SQLite rows written by retention (modelled: a partition dropped whole rewrites its ≤ 864 rollup bucket rows)',
    source: 'developers.cloudflare.com/durable-objects/platform/pricing',
  },
  doStorage: {
    usdPerMillion: 200, // $0.20 per GB-month = $200 per million MB-months
    unit: 'MB-months stored ($0.20 per GB-month)',
    source: 'developers.cloudflare.com/durable-objects/platform/pricing',
  },
  kvReads: { usdPerMillion: 0.5, unit: 'KV reads', source: 'developers.cloudflare.com/kv/platform/pricing' },
  kvWrites: {
    usdPerMillion: 5,
    unit: 'KV writes/deletes/lists',
    source: 'developers.cloudflare.com/kv/platform/pricing',
  },
  logEvents: {
    usdPerMillion: 0.6,
    unit: 'Workers Logs events (console lines + invocations)',
    source: 'developers.cloudflare.com/workers/observability/logs/workers-logs',
  },
} as const

export type PriceKey = keyof typeof PRICES

/** Units per event → USD per million events, line by line. */
export function costPerMillion(perEvent: Record<PriceKey, number>) {
  const lines = (Object.keys(PRICES) as PriceKey[]).map((item) => ({
    item,
    unit: PRICES[item].unit,
    perEvent: perEvent[item],
    usdPerMillionEvents: perEvent[item] * PRICES[item].usdPerMillion,
  }))
  return { lines, total: lines.reduce((sum, line) => sum + line.usdPerMillionEvents, 0) }
}
