/** bench/RESULTS.md and the console table, from the results object run.ts writes to bench/results.json. */
import { PRICES, type PriceKey } from './cost'

export interface Target {
  name: string
  value: number
  unit: string
  target: string
  met: boolean
}

// biome-ignore lint/suspicious/noExplicitAny: the report reads the results JSON as run.ts shaped it.
type Results = any

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(value)

function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) =>
    `| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

export function targetsTable(targets: Target[]): string {
  return table(
    ['target', 'value', 'unit', 'goal', 'met'],
    targets.map((target) => [
      target.name,
      fmt(target.value, 3),
      target.unit,
      target.target,
      target.met ? 'met' : '**missed**',
    ]),
  )
}

/** What was changed in the router to move the targets (kept with the code that measures them). */
const CHANGES = `
The router accepts and rejects the same events and delivers the same data; only Crossing Minds
identifies travel differently (in bulk, below). \`npm test\` covers each change, with tests for what is new.

**Ingest** (src/ingest/*, src/lib/body.ts, src/segment/schema.ts):

- **Body** (src/lib/body.ts): with a \`Content-Length\` within the limit the body is read with one native
  \`arrayBuffer()\` instead of a JS loop over the stream's chunks; a chunked body keeps the capped reader.
- **Size and nesting of an event** (src/lib/json-size.ts \`measureJson\`): one bounded walk computes the
  exact UTF-8 size of the event's JSON and stops past 100 levels, instead of a nesting walk plus
  \`JSON.stringify\` and a UTF-8 count; a property test holds it equal to \`JSON.stringify\` for any JSON value.
- **Validation** (src/segment/schema.ts): \`context\`, \`traits\` and \`properties\` are checked to be objects
  and kept as parsed, instead of \`v.record(v.string(), v.unknown())\` checking and copying every key (which
  also dropped keys named \`constructor\` or \`prototype\`; they are now kept like any other).
- **Normalisation** (src/ingest/normalize.ts): an item is copied only when it carries a \`writeKey\` or
  there are batch defaults to merge; valibot's output (already a copy) is stamped in place instead of
  spread into another object; the request's \`receivedAt\` / \`sentAt\` are parsed once per request.
  \`normalizeEvent\` is synchronous: a missing messageId is derived with \`node:crypto\`'s SHA-256 (the
  same hash of the same text as before, so ids stay stable) instead of an awaited \`crypto.subtle\` call.
- **Each call's schema by its type** (src/segment/schema.ts \`parseSegmentEvent\`): a map from \`type\` to
  its schema instead of valibot's \`variant\` trying the six options in turn; any other \`type\` still gets
  the variant's message.
- **Timestamps** (src/lib/iso-time.ts): the corrected timestamp is written by a hand-made
  \`toISOString\` (V8's costs about 1 µs), and timestamps in that canonical form are read back digit by
  digit instead of \`Date.parse\`, by the clock-skew correction and by every partner's date conversion;
  property tests hold both equal to V8's over the years 0000–9999.
- **Sizes of plain text** (src/ingest/limits.ts \`holdsOnlyPlainStrings\`): when a request's text is ASCII
  (as many bytes as characters) without a backslash, every string in it is written in JSON as itself
  between quotes, so \`measureJson\` counts each string's length instead of testing it; key sizes are
  cached otherwise.
- **HTTP path** (src/ingest/cors.ts, src/config/store.ts, src/ingest/write-key.ts): the CORS header is set
  on the final response instead of by Hono's \`cors\`, which built a placeholder Response and copied it
  into the real one on every request; each source's write key is encoded once per loaded config (the
  given key is still compared with every source's in constant time), and an ASCII Basic key skips
  UTF-8 decoding; a body of declared length is read without touching \`request.body\`.
- **Queue hand-off** (src/ingest/enqueue.ts, src/delivery/message.ts): packing uses the sizes
  normalisation measured instead of serialising every event again. A request that packs into one
  message (almost all) is queued with one \`send\` of the message's JSON text (contentType \`text\`)
  instead of a \`sendBatch\` of a \`json\` body, so the local queue broker (in the worker's process
  under \`wrangler dev\`) neither decodes a base64 batch envelope nor parses and re-serialises the
  body; larger requests keep \`sendBatch\`, also as text. The consumer reads both forms, so messages
  queued before the change are still delivered.

**Mapping** (src/destinations/*, src/lib/memo.ts):

- Key conversions (\`toSnakeCase\`, \`sanitizeKey\`) and the Crossing Minds value-type classification are
  memoised in bounded caches; Crisp's, Calixa's and CrowdPower's auth headers are computed once per
  settings object.
- Dates are recognised by their shape before any regex or \`Date.parse\`, and parsed once.
- Flattening and attribute conversion skip the partner's named fields in the same pass instead of
  copying the traits first (\`Object.fromEntries(Object.entries(…).filter(…))\`); bodies are built by
  assignment instead of conditional spreads; no per-call closures on the per-event path.
- CrowdPower bodies are built field by field instead of spreading the user and the event into a new
  object, and a page's properties are converted in the order the old spread gave them without building
  that object first; Crossing Minds and Crisp use plain loops instead of \`flatMap\`, \`map\` + \`every\`
  and temporary arrays. Tests pin the key order partners see.
- Routing (src/delivery/routing.ts): a source's destinations and every decision they can get are worked
  out once per config object instead of per event.

**Delivery** (src/destinations/crossing-minds/*, src/delivery/consumer.ts):

- Crossing Minds identifies go as one \`PATCH /v1/users-bulk/properties/\` per 1,024 users (a user
  identified twice in a batch starts a new bulk, to keep the order), a lone one on its own route; a bulk
  refused with 400 is resent user by user, as interaction bulks are.
- The consumer logs one line per event with every destination's outcome instead of one per pair.
`

export function renderReport(results: Results, options: { tableOnly?: boolean } = {}): string {
  const targets = results.targets as Target[]
  if (options.tableOnly) return targetsTable(targets)
  const out: string[] = []
  const met = targets.filter((target) => target.met).length
  out.push('# Benchmark results', '')
  out.push(
    `Generated by \`npm run bench\` on ${results.generatedAt} in ${fmt(results.wallSeconds)} s. ${met} of ${targets.length} targets met. Raw numbers: [results.json](results.json).`,
    '',
  )
  out.push('## Targets', '', targetsTable(targets), '')

  const machine = results.machine
  out.push('## Machine and versions', '')
  out.push(
    table(
      ['', ''],
      [
        ['CPU', machine.cpus],
        ['memory', `${machine.memoryGiB} GiB`],
        ['load average at start (1, 5, 15 min)', machine.loadAverageAtStart.join(', ')],
        ['Node', machine.node],
        ['wrangler / workerd', `${machine.wrangler} / ${machine.workerd}`],
        ['hono / valibot', `${machine.hono} / ${machine.valibot}`],
        ['autocannon', machine.autocannon],
        [
          '@segment/actions-core / action-destinations',
          `${results.peer.versions.actionsCore} / ${results.peer.versions.actionDestinations}`,
        ],
        ['router commit (working tree bundled at start)', machine.commit],
      ],
    ),
    '',
  )
  out.push(
    'The machine is shared: other sessions may run test suites while the bench runs, so absolute numbers',
    'move between runs; the ratios are measured within one run, side by side.',
    '',
  )

  out.push('## What was changed to meet the targets', CHANGES)

  // ---------------------------------------------------------------- ingest
  out.push('## 1. Ingest throughput', '')
  out.push(
    `Realistic Tracking API batches: 20 mixed events (identify, ecommerce and B2B tracks, page, group, Engage), ${fmt(results.workload.ingestAverageBatchBytes)} bytes on average, 64 distinct bodies cycled; single events on \`/v1/t\`. Autocannon on 127.0.0.1: for each route, path and connection count, router and baseline alternate in ABBA order (router, baseline, baseline, router), ${results.workload.loadSecondsPerRun} s per run after a 1 s warm-up; a row is both runs of one side (events/s over both, p50 averaged, the worse p99). Router and baseline run from bundles made at the start (\`wrangler deploy --dry-run\`) under \`wrangler dev --no-bundle\`, so edits in the tree during the run change nothing. The router's \`fetch\` is served from bench/ingest/index.ts (src/index.ts's \`fetch\`, with a consumer that only acks: under \`wrangler dev\` the consumer runs in the ingest's own process and thread, on Cloudflare it does not); its source has no destinations, and delivery is measured in section 3.`,
    '',
  )
  out.push(
    table(
      [
        'route',
        'via',
        'conn',
        'router events/s',
        'baseline events/s',
        'ratio',
        'router p50 / p99 ms',
        'baseline p50 / p99 ms',
        'router non-2xx',
        'router worker CPU ms/req',
        'baseline worker CPU ms/req',
      ],
      (results.ingest as Results[]).map((row) => [
        row.route,
        row.via === 'socket' ? "worker's socket" : 'wrangler dev URL',
        row.connections,
        fmt(row.router.eventsPerSecond),
        fmt(row.baseline.eventsPerSecond),
        fmt(row.ratio, 3),
        `${row.router.latencyP50Ms} / ${row.router.latencyP99Ms}`,
        `${row.baseline.latencyP50Ms} / ${row.baseline.latencyP99Ms}`,
        row.router.non2xx + row.router.errors,
        fmt(row.router.cpuMsPerRequest.worker, 3),
        fmt(row.baseline.cpuMsPerRequest.worker, 3),
      ]),
    ),
    '',
  )
  const floor = results.ingestFloor as Results[]
  if (floor.length > 0) {
    const reference = (results.ingestFloorReference ?? []) as Results[]
    const referenceAt = (connections: number) => reference.find((run) => run.connections === connections)
    const routerAt = (connections: number) =>
      (results.ingest as Results[]).find(
        (row) => row.route === '/v1/batch' && row.via === 'socket' && row.connections === connections,
      )?.router
    const rows = [...reference, ...floor, ...((results.ingestFloorEmpty ?? []) as Results[])]
    out.push(
      "**The local queue's floor.** The baseline worker again, on its socket, in runs interleaved so they see the same machine (parse, events, `{}`, `{}`, events, parse): parsing alone; parsing and handing the events to a local queue as one message the way the router does (`/enqueue/v1/batch`: one `send` of the message's JSON text), with a consumer that only acks; and parsing and sending `{}` (`/enqueue-empty/v1/batch`). It is what any queue-before-200 ingest pays under `wrangler dev`, where the queue broker runs in the worker's own workerd process, and a `send` costs about as much whatever it carries:",
      '',
      table(
        [
          'worker does',
          'conn',
          'events/s',
          'p50 / p99 ms',
          'worker CPU ms/req',
          '÷ parse alone',
          'router ÷ this',
        ],
        rows.map((run) => {
          const parseAlone = referenceAt(run.connections)
          const router = routerAt(run.connections)
          return [
            run.route === '/enqueue/v1/batch'
              ? 'parse + send the events'
              : run.route === '/enqueue-empty/v1/batch'
                ? 'parse + send `{}`'
                : 'parse alone',
            run.connections,
            fmt(run.eventsPerSecond),
            `${run.latencyP50Ms} / ${run.latencyP99Ms}`,
            fmt(run.cpuMsPerRequest.worker, 3),
            parseAlone ? fmt(run.eventsPerSecond / parseAlone.eventsPerSecond, 3) : '—',
            router ? fmt(router.eventsPerSecond / run.eventsPerSecond, 3) : '—',
          ]
        }),
      ),
      '',
    )
  }
  const withConsumer = (results.ingestWithConsumer ?? []) as Results[]
  if (withConsumer.length > 0) {
    out.push(
      "**The router with its own consumer.** The rows above serve the router's `fetch` from bench/ingest/index.ts, whose queue consumer only acks, like the floor's. The same load on the router's own entry (src/index.ts), whose real consumer runs in the same workerd process and thread:",
      '',
      table(
        ['conn', 'events/s', 'p50 / p99 ms', 'non-2xx', 'worker CPU ms/req'],
        withConsumer.map((run) => [
          run.connections,
          fmt(run.eventsPerSecond),
          `${run.latencyP50Ms} / ${run.latencyP99Ms}`,
          run.non2xx + run.errors,
          fmt(run.cpuMsPerRequest.worker, 3),
        ]),
      ),
      '',
    )
  }
  out.push(
    "**Finding the worker's own socket.** `wrangler dev` starts two workerd processes: its dev proxy, which listens on the URL it prints, and the worker's own, started with `--socket-addr=entry=127.0.0.1:0` (a random port, reported to wrangler over a control fd and printed nowhere). The bench takes that workerd process among wrangler's descendants (`/proc/*/stat`), lists its listening TCP sockets (`/proc/<pid>/fd` socket inodes matched against `/proc/net/tcp`), and keeps the one that answers `GET /health` (bench/lib/wrangler.ts). CPU per request is that process's utime + stime from `/proc/<pid>/stat` over the run, divided by the requests answered.",
    '',
  )

  // ---------------------------------------------------------------- pure CPU
  const pure = results.cpuPure
  out.push('## 2. CPU per event (in process)', '')
  out.push(
    `The router's own pure functions in Node (tsx), ${fmt(pure.routerBodies)} partner bodies for 2,000 mixed events, ${pure.routerRounds.length} rounds after warm-up, each running both passes back to back (which goes first alternates, so neither pays for the other's garbage), so both see the same load from the rest of the machine; the target's ratio is the median of the rounds' ratios (the µs columns are each side's median): ingest normalisation and validation (\`normalizeEvent\`), routing (\`routeEvent\`) and each partner's mapping and request building (\`src/destinations/*/mapping.ts\`, plus the auth headers), bodies serialised. The plain-V8 pass (bench/cpu/naive.ts) builds the same number of bodies for the same events (${fmt(pure.naiveBodies)}; ${fmt(pure.naiveBytes)} vs ${fmt(pure.routerBytes)} bytes) with JSON.parse, a valibot check of the common fields and straightforward code.`,
    '',
    table(
      ['', 'µs per event', 'rounds (µs per event)'],
      [
        [
          'router',
          fmt(pure.routerUsPerEvent, 1),
          pure.routerRounds.map((value: number) => fmt(value, 1)).join(', '),
        ],
        [
          'plain V8',
          fmt(pure.naiveUsPerEvent, 1),
          pure.naiveRounds.map((value: number) => fmt(value, 1)).join(', '),
        ],
        [
          'router / plain V8',
          fmt(pure.ratio, 2),
          (pure.ratioRounds ?? []).map((value: number) => fmt(value, 2)).join(', '),
        ],
      ],
    ),
    '',
    'The router pass by phase (a separate pass with a timer around each phase, so the sum is a little above the figure measured without them):',
    '',
    table(
      ['phase', 'µs per event'],
      Object.entries((pure.routerPhasesUsPerEvent ?? {}) as Record<string, number>).map(([phase, us]) => [
        phase,
        fmt(us, 1),
      ]),
    ),
    '',
  )

  // ---------------------------------------------------------------- delivery
  const delivery = results.delivery
  const first = delivery.firstPass
  out.push('## 3. Delivery', '')
  out.push(
    `${fmt(first.events)} mixed events for ${results.workload.users} users (every user's first event an identify with an email, as a sign-up is) sent as 20-event batches to the counted router (section 4), through the local queue and the real consumer, to the partner sandbox (a private tenant). The counted router's queue counters (free to read) are polled until every message sent has been acked by the consumer, then the ledger (\`GET /admin/stats\`) is read to check that every (event, destination) pair is settled (and polled every 2 s if not). Then every identified user is identified again with one custom trait changed: that second pass is the steady state.`,
    '',
    table(
      ['', ''],
      [
        [
          'delivered events/s, end to end (first request → last pair settled)',
          fmt(first.deliveredEventsPerSecond, 1),
        ],
        ['wall time, first pass', `${fmt(first.wallMs / 1000, 1)} s`],
        ['worker process CPU, first pass', `${fmt(first.workerCpuMs)} ms`],
        ['− ledger reads (measured after the pass, upper bound)', `${fmt(first.pollCpuMs)} ms`],
        [
          '− ingest (requests × worker CPU per request of the 10-connection socket run)',
          `${fmt(first.ingestCpuMs)} ms`,
        ],
        ['= consumer CPU (workerd process, simulators included)', `${fmt(first.consumerCpuMs)} ms`],
        [
          'workerd consumer CPU ÷ delivered (event, destination) pairs',
          `${fmt(first.consumerUsPerDeliveredPair)} µs`,
        ],
        [
          'workerd consumer CPU ÷ routed (event, destination) pairs, drops included',
          `${fmt(first.consumerUsPerRoutedPair)} µs`,
        ],
        ['Crossing Minds logins over both passes', delivery.crossingMindsLogins],
      ],
    ),
    '',
    `The worker process CPU includes the local simulators of KV, D1 and Queues, which \`wrangler dev\` runs as other workers inside the same workerd process and thread; on Cloudflare those are remote services and not billed as the worker's CPU, and workerd reports no per-invocation CPU time locally (\`cpuTime\` is 0 in tail events). The figures above are therefore an upper bound of what the consumer itself spends, kept for context; target 3 uses the consumer measured alone in a Node process (below). For scale: the partner mapping alone, in process (section 2), costs ${fmt(results.cpuPure.routerUsPerEvent / (results.cpuPure.routerBodies / results.cpuPure.events), 1)} µs per partner request body, before any ledger, state or HTTP work; Segment's Webhook in batch mode spends ${fmt((results.peer.results as Results[]).find((row) => row.destination === 'Webhook' && row.mode === 'batch')?.cpuUsPerEvent ?? 0, 1)} µs per event in all.`,
    '',
    table(
      ['destination', 'delivered', 'dropped', 'partner requests', 'requests per delivered event', 'routes'],
      (delivery.perDestination as Results[]).map((row) => [
        row.destination,
        row.delivered,
        row.dropped,
        row.requests,
        fmt(row.requestsPerDeliveredEvent, 3),
        Object.entries(row.routes)
          .map(([route, count]) => `${route} ×${count}`)
          .join('; '),
      ]),
    ),
    '',
    `Second pass: ${fmt(delivery.secondPass.events)} identifies, ${fmt(delivery.secondPass.wallMs / 1000, 1)} s; partner requests: ${Object.entries(
      delivery.secondPass.requests,
    )
      .map(
        ([partner, routes]) =>
          `${partner}: ${Object.entries(routes as Record<string, number>)
            .map(([route, count]) => `${route} ×${count}`)
            .join(', ')}`,
      )
      .join('; ')}.`,
    '',
    'Drop reasons (first pass): ' +
      Object.entries(first.ledger.reasons)
        .map(([reason, count]) => `${reason} ×${count}`)
        .join('; '),
    '',
  )
  if (delivery.consumerInNode) out.push(...consumerInNode(delivery.consumerInNode, results))

  // ---------------------------------------------------------------- cost
  const cost = results.cost
  out.push('## 4. Platform cost per million events', '')
  out.push(
    "Counted on the delivery run by bench/instrumented/index.ts: the router's default export, unchanged, with its bindings wrapped in counting proxies (KV get/put/delete/list per namespace; D1 `prepare().run/all/first` and `batch`, summing `meta.rows_read` / `meta.rows_written`; queue `send`/`sendBatch` and, in the consumer, each message read, acked or retried, at one operation per 64 KB; partner subrequests). Admin traffic (config PUT, ledger polls) is counted apart and left out. CPU: ingest requests × the router's worker CPU per request (10-connection socket run) plus the consumer CPU of section 3 — both include the local simulators, so they overstate.",
    '',
    table(
      ['item', 'per event', 'price', 'USD per million events'],
      (cost.lines as { item: PriceKey; perEvent: number; usdPerMillionEvents: number }[]).map((line) => [
        PRICES[line.item].label,
        fmt(line.perEvent, 4),
        `$${PRICES[line.item].usdPerMillion} per million`,
        `$${fmt(line.usdPerMillionEvents, 4)}`,
      ]),
    ),
    '',
    `**Total: $${fmt(cost.total, 3)} per million events.**`,
    '',
    `KV operations by key prefix, Tracking API and consumer: ${['ingest', 'consumer']
      .flatMap((category) =>
        Object.entries(
          (cost.counters[category]?.kv?.byPrefix ?? {}) as Record<string, Record<string, number>>,
        ).map(
          ([prefix, kinds]) =>
            `\`${prefix}\` ${Object.entries(kinds)
              .map(([kind, count]) => `${count} ${kind}`)
              .join(', ')}`,
        ),
      )
      .join(
        '; ',
      )}. D1: ${fmt(cost.counters.consumer.d1.rowsWritten)} rows written and ${fmt(cost.counters.consumer.d1.rowsRead)} read by the consumer in ${fmt(cost.counters.consumer.d1.queries)} statements; queue: ${fmt(cost.counters.ingest.queues.messagesSent)} messages for ${fmt(results.delivery.firstPass.events + results.delivery.secondPass.events)} events.`,
    '',
    'Prices: Cloudflare list prices, Workers Paid plan, as published on developers.cloudflare.com (Workers, Queues, Workers KV and D1 pricing pages):',
    '',
    ...Object.values(PRICES).map((price) => `- ${price.source}`),
    '',
    'Free allowances (included requests, CPU time, KV, D1 and Queues operations) and the $5 monthly minimum are ignored: the figure is the marginal cost of the traffic.',
    '',
  )

  // ---------------------------------------------------------------- scaling
  const scaling = results.scaling
  out.push('## 5. Scaling', '')
  out.push(
    "In process: the router's Hono app (`app.fetch`) with in-memory bindings, many requests per size; allocation is the heap growth over one request with a young generation too large to collect inside it (an upper bound of its peak). In workerd: the router's worker process CPU per request, sequential requests to its socket.",
    '',
    table(
      [
        'request',
        'body bytes',
        'CPU µs per request (Node)',
        'CPU µs per event (Node)',
        'allocated (Node)',
        'worker CPU ms per request (workerd)',
        'worker CPU µs per event (workerd)',
      ],
      (scaling.inProcess as Results[]).map((row) => {
        const inWorkerd = (scaling.workerd.results as Results[]).find((item) =>
          item.label === undefined
            ? item.events === row.events && !row.label.startsWith('500 KB')
            : item.label.startsWith('500 KB') === row.label.startsWith('500 KB') &&
              (row.label.startsWith('500 KB') || item.events === row.events),
        )
        return [
          row.label,
          fmt(row.bodyBytes),
          fmt(row.cpuUsPerRequest),
          fmt(row.cpuUsPerEvent, 1),
          `${fmt(row.allocatedBytes / 2 ** 20, 2)} MiB`,
          inWorkerd ? fmt(inWorkerd.workerCpuMsPerRequest, 2) : '—',
          inWorkerd ? fmt((inWorkerd.workerCpuMsPerRequest * 1000) / inWorkerd.events, 1) : '—',
        ]
      }),
    ),
    '',
    `Worker process memory (workerd, router + local simulators): RSS ${fmt(scaling.workerd.rssBefore.rss / 2 ** 20)} MiB before the scaling requests, ${fmt(scaling.workerd.rssAfter.rss / 2 ** 20)} MiB after, peak ${fmt(scaling.workerd.rssAfter.peak / 2 ** 20)} MiB.`,
    '',
  )

  // ---------------------------------------------------------------- peer
  const peer = results.peer
  out.push("## 6. The peer: Segment's destination engine, same run", '')
  out.push(
    `\`@segment/actions-core\` ${peer.versions.actionsCore} and \`@segment/action-destinations\` ${peer.versions.actionDestinations}, installed in bench/'s own package (overrides: \`@aws-sdk/client-kinesis\` 3.970.0 as the pinned 3.974.0 is not on the registry, \`fast-uri\` 3.1.5 as ≥ 3.1.6 breaks destinations whose name has a space; \`xml-js\` added as the undeclared dependency it is). In a child process, on the first 2,000 events of the delivery stream, over HTTP to a loopback sink in the parent (Customer.io's fixed origin is redirected to the sink by rewriting the URL in the engine's own fetch). CPU is the child's process.cpuUsage after a warm-up.`,
    '',
    table(
      ['destination', 'mode', 'events', 'requests', 'failures', 'CPU µs per event', 'wall ms'],
      (peer.results as Results[]).map((row) => [
        row.destination,
        row.mode,
        row.events,
        row.requests,
        row.failures,
        fmt(row.cpuUsPerEvent, 1),
        fmt(row.wallMs),
      ]),
    ),
    '',
  )

  // ---------------------------------------------------------------- missed
  const missed = targets.filter((target) => !target.met)
  out.push('## What would meet the missed targets', '')
  if (missed.length === 0) out.push('Nothing is missed.', '')
  const groups = new Map<string, Target[]>()
  for (const target of missed) {
    const key = advice(target.name, results)
    groups.set(key, [...(groups.get(key) ?? []), target])
  }
  for (const [text, group] of groups) {
    const names = group.map((target) => `**${target.name}** (${fmt(target.value, 3)} ${target.unit})`)
    out.push(`- ${names.join('; ')}: ${text}`)
  }
  out.push('')
  return `${out.join('\n')}\n`
}

/** Section 3's measurement of the consumer alone, in a Node process (bench/consumer/node.ts). */
function consumerInNode(run: Results, results: Results): string[] {
  if (run.error)
    return [
      `**The consumer alone, in a Node process (target 3)** failed: ${String(run.error).split('\n')[0]}`,
      '',
    ]
  const passes = [run.first, run.second].filter(Boolean) as Results[]
  const row = (label: string, value: (pass: Results) => string | number) => [
    label,
    ...passes.map((pass) => value(pass)),
  ]
  const segment =
    (results.peer.results as Results[]).find((row) => row.destination === 'Webhook' && row.mode === 'batch')
      ?.cpuUsPerEvent ?? 0
  const polyfills = (run.polyfills as string[]).length
    ? ` Node ${run.node} lacks ${(run.polyfills as string[]).map((name) => `\`${name}\``).join(', ')} (ES2024, which workerd has and src/delivery/consumer.ts uses): the child installs a plain polyfill first.`
    : ''
  return [
    "**The consumer alone, in a Node process (target 3).** Measured as the peer is (section 6): CPU of one Node process, everything else elsewhere. The same events, normalised and packed into queue messages by the router's own ingest code (`normalizeEvent`, `enqueueEvents`, 20 events per request) before the clock starts, are handed to the worker's `queue` export (src/index.ts → `consumeDeliveryBatch`, src/delivery/consumer.ts, unchanged) in bench/consumer/node.ts, as the queue hands them over: MessageBatches of up to " +
      `${fmt(run.queue?.maxBatchSize ?? 100)} messages (wrangler.toml's \`max_batch_size\`), one at a time, ack/retry recorded, a retried message delivered again after its delay. ` +
      "KV (the config stored as `PUT /admin/config` stores it; partner state), D1 (migrations applied) and the queue producers are miniflare's local simulators, as `wrangler dev` runs them, in a separate workerd process, bound as in wrangler.toml; each binding call from Node is one JSON message each way over a WebSocket to a worker bound to them, and its Node-side cost is counted as the consumer's (wrangler's `getPlatformProxy` bindings, tried first, cost milliseconds of Node CPU per call on this machine, an HTTP request each and synchronous ones for `prepare` and `bind`, far more than a binding call costs a worker; `BENCH_CONSUMER_BINDINGS=proxy` measures with them). Partner requests go to the sandbox in the parent process (a private tenant) through the peer's own HTTP client (the engine's `fetch`: node-fetch 2 via cross-fetch, section 6), so both sides pay the same HTTP stack; on Workers, `fetch` is the runtime's native client. A warm-up first: " +
      `${fmt(run.warmup.events)} events of other users on another source and sandbox tenant. CPU is the child's \`process.cpuUsage()\` over the delivery (all its threads: the router's JS, the HTTP client, the binding calls, the log lines the consumer prints, GC), divided by routed pairs (events × ${fmt(passes[0] ? passes[0].routedPairs / passes[0].events : 4)} destinations) and by delivered pairs (from the ledger, the \`deliveries\` view).${polyfills}`,
    '',
    table(
      ['', ...passes.map((_, index) => (index === 0 ? 'first pass' : 'second pass (identifies again)'))],
      [
        row('events → queue messages → consumer batches', (pass) =>
          [pass.events, pass.messages, pass.queue.batches].map((value: number) => fmt(value)).join(' → '),
        ),
        row('consumer process CPU', (pass) => `${fmt(pass.cpuMs)} ms`),
        row('÷ routed (event, destination) pairs', (pass) => `${fmt(pass.cpuUsPerRoutedPair)} µs`),
        row('÷ delivered (event, destination) pairs', (pass) => `${fmt(pass.cpuUsPerDeliveredPair)} µs`),
        row('Segment Webhook, batch mode, CPU ÷ events (section 6)', () => `${fmt(segment, 1)} µs`),
        row(
          'partner requests (per event)',
          (pass) => `${fmt(pass.partnerRequests)} (${fmt(pass.partnerRequests / pass.events, 2)})`,
        ),
        row('partner answers by status', (pass) =>
          Object.entries(pass.partnerStatuses as Record<string, number>)
            .map(([status, count]) => `${status} ×${count}`)
            .join(', '),
        ),
        row(
          'binding calls: KV reads / writes, D1 statements in batches, queue sends',
          (pass) =>
            `${fmt(pass.bindingCalls.kvReads)} / ${fmt(pass.bindingCalls.kvWrites)}, ${fmt(pass.bindingCalls.d1Statements)} in ${fmt(pass.bindingCalls.d1Batches)}, ${fmt(pass.bindingCalls.queueSends)}`,
        ),
        row('wall time (first batch → every message acked)', (pass) => `${fmt(pass.wallMs / 1000, 1)} s`),
        row('delivered events/s', (pass) => fmt(pass.deliveredEventsPerSecond, 1)),
        row(
          'messages retried (consumer errors)',
          (pass) => `${fmt(pass.queue.retried)} (${fmt(pass.queue.consumerErrors)})`,
        ),
        row('ledger: pairs by status', (pass) =>
          Object.entries(pass.ledger.byStatus as Record<string, number>)
            .map(([status, count]) => `${status} ${fmt(count)}`)
            .join(', '),
        ),
        row('every pair settled', (pass) => (pass.settled ? 'yes' : '**no**')),
      ],
    ),
    '',
    ...builtinFetchLine(run.builtinFetch, passes[0]),
  ]
}

/** The same consumer with Node's built-in fetch (undici): what the HTTP client alone changes. */
function builtinFetchLine(builtin: Results | undefined, first: Results | undefined): string[] {
  if (!builtin || !first) return []
  return [
    `With Node's built-in \`fetch\` (undici) instead, same code, the first ${fmt(builtin.events)} events of the stream (a fresh tenant): ${fmt(builtin.cpuUsPerRoutedPair)} µs per routed pair, ${fmt(builtin.cpuUsPerDeliveredPair)} µs per delivered pair, ${fmt(builtin.partnerRequests)} partner requests (${fmt(builtin.partnerRequests / builtin.events, 2)} per event; the run above: ${fmt(first.partnerRequests / first.events, 2)}), every pair settled: ${builtin.settled ? 'yes' : '**no**'}.`,
    '',
  ]
}

function advice(name: string, results: Results): string {
  if (name.startsWith('ingest /v1/')) {
    const at10 = (runs: unknown) => ((runs ?? []) as Results[]).find((run) => run.connections === 10)
    const floor = at10(results.ingestFloor)
    const empty = at10(results.ingestFloorEmpty)
    const parseAlone = at10(results.ingestFloorReference)
    const router = (results.ingest as Results[]).find(
      (row) => row.route === '/v1/batch' && row.via === 'socket' && row.connections === 10,
    )?.router
    const cpu = (run: Results) => `${fmt(run.cpuMsPerRequest.worker, 2)} ms`
    const numbers =
      floor && empty && parseAlone && router
        ? ` (10 connections, worker CPU per request: parse alone ${cpu(parseAlone)}, parse + one \`send\` of the events ${cpu(floor)}, of \`{}\` ${cpu(empty)}, so the cost is per \`send\`, not per byte; parse + send reaches ${fmt(floor.eventsPerSecond / parseAlone.eventsPerSecond, 2)} of parse alone's events/s. The router, at ${cpu(router)}, reaches ${fmt(router.eventsPerSecond / floor.eventsPerSecond, 2)} of the floor's)`
        : ''
    return `the queue hand-off alone keeps any queue-before-200 ingest far below a parse-only worker under \`wrangler dev\`, where the local queue broker runs in the worker's own workerd process and thread${numbers}. The issue's reference figures agree: the parse-only worker queueing each request's events (one \`sendBatch\`, a message per event) halves its throughput. No change to the router's code closes that on this machine; what is left above the floor is the router's own JS (auth, validation, normalisation, packing), cut as listed above. On Cloudflare the queue is a remote service and its CPU is not the worker's.`
  }
  if (name.startsWith('CPU per event')) {
    const pure = results.cpuPure as Results
    const phases = Object.entries((pure.routerPhasesUsPerEvent ?? {}) as Record<string, number>)
      .sort((a, b) => b[1] - a[1])
      .map(([phase, us]) => `${phase} ${fmt(us, 1)}`)
      .join(', ')
    return `the router pass does what the plain-V8 pass leaves out: the 32 KB and nesting limits (an exact size walk), the whole Spec per call type (ids, ISO-8601 times, objects), Segment's clock-skew correction per event (a timestamp read and written), and each partner's rules (snake_case, dates to Unix seconds, flattened and sanitised keys, Crossing Minds type inference). Where it goes, µs per event from a separate pass with a timer per phase (section 2 lists the phases): ${phases}. The cheap cuts are made (see "What was changed"); what is left is spread thin: valibot's object runs, the size walk and the partners' conversions, each a few µs. Closing the rest means giving up checks the router promises (the limits, the Spec) or hand-writing the validation outside valibot.`
  }
  if (name.startsWith('delivery: consumer CPU')) {
    const pass = results.delivery.consumerInNode?.first
    const peer = (results.peer.results as Results[]).find(
      (row) => row.destination === 'Webhook' && row.mode === 'batch',
    )
    const numbers =
      pass && peer
        ? ` (here ${fmt(pass.partnerRequests)} partner requests for ${fmt(pass.events)} events, ${fmt(pass.partnerRequests / pass.events, 2)} per event, against the peer's ${fmt(peer.requests)} for ${fmt(peer.events)})`
        : ''
    const routes = pass
      ? Object.entries(pass.requestsByRoute as Record<string, Record<string, number>>)
          .flatMap(([partner, byRoute]) =>
            Object.entries(byRoute).map(([route, count]) => ({ label: `${partner} ${route}`, count })),
          )
          .sort((a, b) => b.count - a.count)
          .slice(0, 3)
          .map((route) => `${route.label} ×${fmt(route.count)}`)
          .join(', ')
      : ''
    const single = (results.peer.results as Results[]).find(
      (row) => row.destination === 'Webhook' && row.mode === 'single',
    )
    const perRequest =
      pass && single
        ? ` Per partner request, all its work included, the consumer spends ${fmt((pass.cpuMs * 1000) / Math.max(1, pass.partnerRequests))} µs; the peer's single mode, one request per event with the same HTTP client, ${fmt(single.cpuUsPerEvent)} µs. At ${fmt(pass.partnerRequests / Math.max(1, pass.deliveredPairs), 2)} requests per delivered pair, the HTTP client alone puts the consumer far above the peer's batch figure, whatever the router's own code costs.`
        : ''
    return `measured as the peer is (one Node process, section 3), the gap is partner requests: the peer's batch mode sends about one request per 100 events, while Calixa takes one event per request (Segment's direct-destination protocol) and Crisp one person per request (no bulk route in its REST API), so those two send one request per delivered event${numbers}.${perRequest} Crossing Minds and CrowdPower already use their bulk routes. No change to the router's code lowers that while each event keeps its own outcome at each partner. On Cloudflare the figure to compare is per-invocation \`cpuTime\` (Workers Logs, tail events), where \`fetch\` is the runtime's native client${routes ? ` (the most frequent routes in the first pass: ${routes})` : ''}.`
  }
  if (name.startsWith('platform cost')) {
    const lines = (results.cost.lines as { item: PriceKey; usdPerMillionEvents: number; perEvent: number }[])
      .slice()
      .sort((a, b) => b.usdPerMillionEvents - a.usdPerMillionEvents)
      .slice(0, 2)
      .map(
        (line) =>
          `${PRICES[line.item].label} $${fmt(line.usdPerMillionEvents, 2)} (${fmt(line.perEvent, 3)} per event)`,
      )
    return `the largest lines are ${lines.join(' and ')}. KV writes are the expensive operation ($5 per million): nearly all are PARTNER_STATE writes by Crisp, about one per identify (its person record with the profile and data fingerprints, rewritten on every changed identify, plus the userId → email entry). Keeping the data fingerprint out of KV (in isolate memory, or in the event's D1 row already written) and writing the person record only when the profile is created or its card changes would bring KV writes near zero in steady state and the total under $2 (src/destinations/crisp).`
  }
  if (name.startsWith('delivery: Crisp'))
    return 'the Crisp destination should send at most one update per identify when only people data changed (src/destinations/crisp).'
  if (name.startsWith('delivery: every'))
    return 'some pairs did not settle within the time limit (see the ledger counts in results.json).'
  if (name.startsWith('processes left'))
    return `see \`leftovers\` in results.json: ${JSON.stringify(results.leftovers ?? [])}.`
  return 'see results.json for the measured numbers.'
}
