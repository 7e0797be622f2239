import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { isPlainObject } from '../../src/lib/objects'
import { listAudit } from '../../src/operations/log'
import { cancelReplayJob, listReplayJobs } from '../../src/queue/replay'
import { sandboxDestinations } from '../helpers/destinations'
import { ADMIN_TOKEN, basicAuth, ORIGIN, putConfig, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * Bad input at the replay-job routes (issue 16 part 5), as test/admin/fuzz.test.ts
 * does for the rest of the admin API: whatever comes in, never a 5xx, never a 2xx
 * for what the schema must refuse, and a refused request changes nothing: no job,
 * no audit entry, nothing queued.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }
const RUNS = { numRuns: 100 }
const MAX_RATE = 500

/** A source whose CrowdPower deliveries fail for good, so a wrongly accepted replay has pairs to queue. */
const tenant = new SandboxTenant()
const SOURCE = {
  name: 'jobfuzz',
  writeKey: 'wk_job_fuzz_1234',
  destinations: { CrowdPower: sandboxDestinations(tenant).CrowdPower },
}

async function failedPairs(): Promise<number> {
  const response = await routerFetch(`/admin/deliveries?source=${SOURCE.name}&status=failed`, {
    headers: admin,
  })
  return ((await response.json()) as { deliveries: unknown[] }).deliveries.length
}

beforeAll(async () => {
  await putConfig({ sources: [SOURCE] })
  await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 } })
  for (const userId of ['j1', 'j2']) {
    const response = await routerFetch('/v1/identify', {
      method: 'POST',
      headers: { Authorization: basicAuth(SOURCE.writeKey) },
      body: JSON.stringify({ userId }),
    })
    expect(response.status).toBe(200)
  }
  const deadline = Date.now() + 20_000
  while ((await failedPairs()) < 2) {
    if (Date.now() > deadline) throw new Error('the seeded deliveries did not fail within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}, 30_000)

afterEach(() => {
  vi.restoreAllMocks()
})

/** Jobs an accepted request started run on their own alarm: stopped when the file ends. */
afterAll(async () => {
  for (const job of await listReplayJobs(env, 100))
    if (job.state === 'running') await cancelReplayJob(env, job.id, 'admin', { now: () => Date.now() })
})

// ---------------------------------------------------------------- generators

const anyJson = fc.jsonValue({ maxDepth: 3 })
const text = fc.string({ unit: 'binary', maxLength: 30 })

const filterLike = fc.oneof(
  fc.constantFrom([], '', 0, null, true, {}),
  fc.record(
    {
      source: fc.oneof(fc.constant(SOURCE.name), anyJson),
      destination: fc.oneof(fc.constantFrom('CrowdPower', 'Nope'), anyJson),
      status: fc.oneof(fc.constantFrom('failed', 'dropped', 'delivered', 'retrying'), anyJson),
      since: anyJson,
      all: fc.oneof(fc.constant(true), anyJson),
    },
    { requiredKeys: [] },
  ),
  anyJson,
)
const replayLike = fc.record(
  {
    filter: filterLike,
    deliveries: fc.oneof(
      fc.constant([{ source: SOURCE.name, messageId: 'm-1', destination: 'CrowdPower' }]),
      anyJson,
    ),
    dryRun: fc.oneof(fc.boolean(), anyJson),
    includeDelivered: fc.oneof(fc.boolean(), anyJson),
    rate: fc.oneof(fc.integer({ min: -2, max: 600 }), fc.double(), anyJson),
    limit: fc.oneof(fc.integer({ min: 0, max: 1001 }), anyJson),
  },
  { requiredKeys: [] },
)
/** JSON shaped like a replay, any JSON, or not JSON at all. */
const body = fc.oneof(
  { arbitrary: replayLike.map((value) => JSON.stringify(value)), weight: 4 },
  anyJson.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 60 }),
)

const jobIdLike = fc.oneof(
  fc.uuid().map((uuid) => `replay-${uuid}`),
  fc.constantFrom('replay-', 'replay-1', '..', '%2e%2e', 'REPLAY-00000000-0000-0000-0000-000000000000'),
  text.map((value) => encodeURIComponent(value)),
)
const limitParam = fc.oneof(
  fc.integer({ min: -5, max: 150 }).map(String),
  fc.constantFrom('', '1e2', 'NaN', '20abc', '%'),
  text,
)

// ---------------------------------------------------------------- helpers

function parsed(textBody: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(textBody) }
  } catch {
    return { ok: false }
  }
}

/** The Worker's own fetch handler in this isolate (see test/admin/fuzz.test.ts for why). */
async function adminFetch(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(
    new Request(`${ORIGIN}${path}`, { method, ...init, headers: admin }),
    env,
    createExecutionContext(),
  )
}

async function statusBelow500(response: Response): Promise<number> {
  const textBody = await response.text()
  expect(response.status, textBody.slice(0, 300)).toBeLessThan(500)
  return response.status
}

/**
 * What a request may have changed: the jobs there are, and the audit entries
 * operators caused (a job started earlier may meanwhile end on its own, as `router`).
 */
async function snapshot() {
  const jobs = await listReplayJobs(env, 100)
  const audit = await listAudit(env, 100)
  return {
    jobs: jobs.map((job) => job.id).sort(),
    audit: audit.filter((entry) => entry.actor !== 'router').length,
  }
}

/**
 * Queue messages sent during `run` that no existing job sent: a job already
 * running pages on its own alarm meanwhile, which is not the request's doing.
 */
async function newSendsDuring<T>(run: () => Promise<T>): Promise<{ result: T; sends: number }> {
  const known = new Set((await listReplayJobs(env, 100)).map((job) => job.id))
  const queue = spyOnQueue()
  const before = queue.messages().length
  const result = await run()
  const sends = queue
    .messages()
    .slice(before)
    .filter((message) => !known.has(message.ingestId)).length
  queue.send.mockRestore()
  queue.sendBatch.mockRestore()
  return { result, sends }
}

function isRate(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_RATE
}

/** What the schema must refuse; it may refuse more (an unknown destination, an empty filter). */
function mustRefuse(value: unknown): boolean {
  if (!isPlainObject(value)) return true
  const hasFilter = 'filter' in value
  const hasDeliveries = 'deliveries' in value
  if (hasFilter === hasDeliveries) return true
  if (hasFilter && !isPlainObject(value.filter)) return true
  if (hasDeliveries && !Array.isArray(value.deliveries)) return true
  if ('dryRun' in value && typeof value.dryRun !== 'boolean') return true
  if ('includeDelivered' in value && typeof value.includeDelivered !== 'boolean') return true
  if ('rate' in value && (hasDeliveries || !isRate(value.rate))) return true
  if ('limit' in value && hasFilter) return true
  const status = isPlainObject(value.filter) ? value.filter.status : undefined
  if (status !== undefined && !['failed', 'dropped', 'delivered'].includes(String(status))) return true
  if (status === 'delivered' && value.includeDelivered !== true) return true
  return false
}

// ---------------------------------------------------------------- properties

describe('POST /admin/replay with plans, paces and jobs', () => {
  it('never a 5xx, a 4xx for what the schema must refuse, and nothing changed or queued when refused', async () => {
    expect(await failedPairs()).toBeGreaterThan(0)
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = await snapshot()
        const { result: response, sends } = await newSendsDuring(() =>
          adminFetch('POST', '/admin/replay', { body: payload }),
        )
        const answer = (await response.clone().json()) as Record<string, unknown>
        const status = await statusBelow500(response)
        statuses.add(status)
        const document = parsed(payload)
        const value = document.ok ? document.value : undefined
        if (mustRefuse(value)) expect(status, payload).toBeGreaterThanOrEqual(400)
        if (status >= 400) {
          expect(sends, payload).toBe(0)
          expect(await snapshot()).toEqual(before)
          return
        }
        // Accepted: a dry run changes nothing and queues nothing; only a filter without it starts a job.
        if (isPlainObject(value) && value.dryRun === true) {
          expect(sends, payload).toBe(0)
          expect(await snapshot()).toEqual(before)
          expect(status).toBe(200)
        } else if (isPlainObject(value) && 'filter' in value) {
          expect(status).toBe(202)
          expect((await snapshot()).jobs).toContain(String(answer.jobId))
        }
      }),
      {
        ...RUNS,
        examples: [
          ['{"filter":{"status":"delivered"}}'],
          ['{"filter":{"all":true},"limit":5}'],
          ['{"deliveries":[{"source":"jobfuzz","messageId":"m","destination":"CrowdPower"}],"rate":5}'],
          [`{"filter":{"source":"${SOURCE.name}"},"dryRun":true}`],
          [`{"filter":{"source":"${SOURCE.name}"},"rate":1}`],
        ],
      },
    )
    expect(statuses).toContain(400)
    expect(statuses).toContain(200)
  })
})

describe('the job routes', () => {
  it('GET /admin/replays: never a 5xx, and a 400 for a limit that is not 1 to 100', async () => {
    await fc.assert(
      fc.asyncProperty(limitParam, async (limit) => {
        const status = await statusBelow500(
          await adminFetch('GET', `/admin/replays?limit=${encodeURIComponent(limit)}`),
        )
        const valid = /^\d+$/.test(limit.trim()) && Number(limit) >= 1 && Number(limit) <= 100
        if (!valid && limit !== '') expect(status, limit).toBeGreaterThanOrEqual(400)
      }),
      RUNS,
    )
  })

  it('GET /admin/replays/:id and POST …/cancel: never a 5xx, a 4xx for an unknown or malformed id, nothing changed', async () => {
    const before = await snapshot()
    await fc.assert(
      fc.asyncProperty(jobIdLike, fc.constantFrom('GET', 'POST'), async (id, method) => {
        const path = method === 'GET' ? `/admin/replays/${id}` : `/admin/replays/${id}/cancel`
        const status = await statusBelow500(
          await adminFetch(method, path, method === 'POST' ? { body: '{}' } : {}),
        )
        // None of these ids was handed out by the API: never found, never cancelled.
        expect(status, path).toBeGreaterThanOrEqual(400)
      }),
      RUNS,
    )
    expect(await snapshot()).toEqual(before)
  })
})
