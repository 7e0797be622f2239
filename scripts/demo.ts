/**
 * `npm run demo`: sends a realistic stream through @segment/analytics-node to the
 * local router, waits for the ledger to settle, then prints what each partner
 * received (the sandbox's recordings) and the ledger's summary (/admin/stats).
 *
 * Uses the stack `npm start` runs (ROUTER_PORT / SANDBOX_PORT, default 8787 / 8788).
 * With none running it starts one itself and keeps it up afterwards, until Ctrl-C.
 */
import type { RecordedRequest } from '../sandbox/core'
import { banner } from './banner'
import { DEMO_SOURCE, DEMO_WRITE_KEY } from './demo-config'
import { sendDemoStream } from './demo-stream'
import { type LocalStack, localAdminToken, startLocalStack } from './local-stack'

interface StatsRow {
  destination: string
  status: string
  reason: string | null
  count: number
}

const routerPort = Number(process.env.ROUTER_PORT ?? '8787')
const sandboxPort = Number(process.env.SANDBOX_PORT ?? '8788')

async function isUp(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

/** The running stack, or a new one when nothing answers on the router port. */
async function connectOrStart(): Promise<{ stack: Omit<LocalStack, 'logs' | 'stop'>; started?: LocalStack }> {
  const routerUrl = `http://127.0.0.1:${routerPort}`
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`
  if (await isUp(`${routerUrl}/health`)) {
    if (!(await isUp(`${sandboxUrl}/__sandbox/health`)))
      throw new Error(`a router answers on ${routerUrl} but no partner sandbox on ${sandboxUrl}`)
    const adminToken = localAdminToken()
    return {
      stack: {
        routerUrl,
        sandboxUrl,
        adminToken,
        dashboardUrl: `${routerUrl}/admin#token=${encodeURIComponent(adminToken)}`,
        sourceName: DEMO_SOURCE,
        writeKey: DEMO_WRITE_KEY,
      },
    }
  }
  console.log(`No router on ${routerUrl}: starting one (as npm start does)…`)
  const started = await startLocalStack({ routerPort, sandboxPort, output: 'capture', exitOnSignal: true })
  return { stack: started, started }
}

async function adminGet<T>(stack: { routerUrl: string; adminToken: string }, path: string): Promise<T> {
  const response = await fetch(`${stack.routerUrl}${path}`, {
    headers: { Authorization: `Bearer ${stack.adminToken}` },
  })
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/**
 * Waits until every accepted event has ledger rows and none is still retrying
 * (Crisp's unknown-user grace takes a few seconds), or 45 s have passed.
 */
async function waitForLedger(
  stack: { routerUrl: string; adminToken: string },
  messageIds: string[],
  since: number,
): Promise<void> {
  const deadline = Date.now() + 45_000
  let previousRows = -1
  while (Date.now() < deadline) {
    const { deliveries } = await adminGet<{ deliveries: { message_id: string; status: string }[] }>(
      stack,
      `/admin/deliveries?since=${since}&limit=500`,
    )
    const seen = new Set(deliveries.map((row) => row.message_id))
    const settled =
      messageIds.every((id) => seen.has(id)) && !deliveries.some((row) => row.status === 'retrying')
    if (settled && deliveries.length === previousRows) return
    previousRows = deliveries.length
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  console.log('(some deliveries are still retrying; the dashboard shows how they end)')
}

function table(header: string[], rows: (string | number)[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => String(row[column] ?? '').length)),
  )
  const line = (cells: (string | number)[]) =>
    `    ${cells.map((cell, column) => String(cell).padEnd(widths[column] ?? 0)).join('   ')}`.trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** `Map.groupBy`, which Node 20 lacks. */
function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** A path cut to its first two segments (the rest names users and emails): `/v1/users/…`. */
function routeShape(path: string): string {
  const segments = (path.split('?')[0] ?? '').split('/').filter(Boolean)
  return `/${segments.slice(0, 2).join('/')}${segments.length > 2 ? '/…' : ''}`
}

function partnerReport(requests: RecordedRequest[]): string {
  const byPartner = groupBy(requests, (request) => request.partner)
  const rows = [...byPartner.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([partner, list]) => {
      const statuses = groupBy(list, (request) => request.status)
      const breakdown = [...statuses.entries()]
        .map(([status, items]) => `${items.length}× ${status}`)
        .join(', ')
      const routes = [...new Set(list.map((request) => `${request.method} ${routeShape(request.path)}`))]
      return [partner, list.length, breakdown, routes.join(', ')]
    })
  return table(['partner', 'requests', 'HTTP status', 'routes'], rows)
}

function ledgerReport(rows: StatsRow[]): string {
  const destinations = [...new Set(rows.map((row) => row.destination))].sort()
  const count = (destination: string, status: string) =>
    rows
      .filter((row) => row.destination === destination && row.status === status)
      .reduce((sum, row) => sum + row.count, 0)
  const reasons = (destination: string) =>
    rows
      .filter((row) => row.destination === destination && row.reason)
      .map((row) => `${row.reason} ${row.count}`)
      .join(', ')
  return table(
    ['destination', 'delivered', 'dropped', 'retrying', 'failed', 'reasons'],
    destinations.map((destination) => [
      destination,
      count(destination, 'delivered'),
      count(destination, 'dropped'),
      count(destination, 'retrying'),
      count(destination, 'failed'),
      reasons(destination),
    ]),
  )
}

const { stack, started } = await connectOrStart()
const since = Date.now()
const recorded = async () =>
  (await (await fetch(`${stack.sandboxUrl}/__sandbox/t/default/requests`)).json()) as RecordedRequest[]
const before = (await recorded()).length

const result = await sendDemoStream({ routerUrl: stack.routerUrl, writeKey: stack.writeKey })
const refused = result.libraryErrors.length
console.log(
  `\nSent ${result.sent} events through @segment/analytics-node to ${stack.routerUrl}` +
    (refused > 0 ? ` (${refused} refused: ${result.libraryErrors.join('; ')})` : ' (all accepted)'),
)
console.log('\nBad requests, posted raw (the library would not build them):')
for (const raw of result.raw) console.log(`    ${raw.status}  ${raw.label}\n          ${raw.body}`)

await waitForLedger(stack, result.acceptedMessageIds, since)
const { counts } = await adminGet<{ counts: StatsRow[] }>(stack, `/admin/stats?since=${since}`)
console.log('\nWhat each partner received (the sandbox recorded it):')
console.log(partnerReport((await recorded()).slice(before)))
console.log('\nThe ledger since the demo started (GET /admin/stats):')
console.log(ledgerReport(counts))
// A stack this run started stays up, and its banner says where the dashboard is.
if (started) console.log(banner(started))
else console.log(`\nSee every event on the dashboard: ${stack.dashboardUrl}\n`)
