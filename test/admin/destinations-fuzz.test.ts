import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { isPlainObject } from '../../src/lib/objects'
import { sandboxDestinations } from '../helpers/destinations'
import { ADMIN_TOKEN, putConfig, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * The destination routes (pause, resume, list, audit) with arbitrary ids,
 * bodies and query strings: never a 5xx, a 2xx only for what the schema
 * takes, and a refused request changes neither the gate nor the audit list.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }
const RUNS = { numRuns: 60 }
const tenant = new SandboxTenant()
const CONFIGURED = 'fuzz:CrowdPower'

beforeAll(async () => {
  await putConfig({
    sources: [
      {
        name: 'fuzz',
        writeKey: 'wk_fuzz_destinations',
        destinations: { CrowdPower: sandboxDestinations(tenant).CrowdPower },
      },
    ],
  })
})

const anyJson = fc.jsonValue({ maxDepth: 3 })
const idLike = fc.oneof(
  { arbitrary: fc.constant(CONFIGURED), weight: 4 },
  fc.constantFrom(
    'fuzz:Crisp',
    'web:CrowdPower',
    'fuzz',
    ':',
    'fuzz:',
    ':CrowdPower',
    'fuzz:CrowdPower:x',
    'fuzz:__proto__',
  ),
  fc.string({ maxLength: 20 }),
)
const reasonLike = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 195, maxLength: 210 }),
  anyJson,
)
const bodyLike = fc.oneof(
  fc.constantFrom('', '   ', '{', 'null', '[]', '"x"'),
  fc.record({ reason: reasonLike }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc
    .record({ rate: fc.oneof(fc.integer({ min: -5, max: 600 }), fc.double(), anyJson) }, { requiredKeys: [] })
    .map((value) => JSON.stringify(value)),
  fc
    .record({ reason: reasonLike, extra: anyJson }, { requiredKeys: [] })
    .map((value) => JSON.stringify(value)),
  anyJson.map((value) => JSON.stringify(value)),
)

/** The body as an object with only `key`, or why not: written independently of the schema. */
function onlyKey(text: string, key: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false }
  }
  if (!isPlainObject(parsed) || Object.keys(parsed).some((name) => name !== key)) return { ok: false }
  return { ok: true, value: parsed[key] }
}

/** What a pause may carry: an optional reason of 1–200 characters. */
function pauseBodyIsValid(text: string): boolean {
  const body = onlyKey(text, 'reason')
  if (!body.ok) return false
  const reason = body.value
  return reason === undefined || (typeof reason === 'string' && reason.length >= 1 && reason.length <= 200)
}

/** What a resume may carry: an optional pace, a whole number of pairs per second from 1 to 500. */
function resumeBodyIsValid(text: string): boolean {
  const body = onlyKey(text, 'rate')
  if (!body.ok) return false
  const rate = body.value
  return rate === undefined || (Number.isInteger(rate) && (rate as number) >= 1 && (rate as number) <= 500)
}

/** The gates and the destinations' audit entries (a resume's replay job writes its own entries later, on its own). */
async function snapshot(): Promise<string> {
  const [destinations, audit] = await Promise.all([
    routerFetch('/admin/destinations', { headers: admin }).then((response) => response.json()),
    routerFetch('/admin/audit?limit=500', { headers: admin }).then(
      (response) => response.json() as Promise<{ entries: { action: string }[] }>,
    ),
  ])
  const entries = audit.entries.filter((entry) => entry.action.startsWith('destination.'))
  return JSON.stringify({ destinations, entries })
}

describe('destination routes under arbitrary input', () => {
  it('pause and resume: 200 only for a configured id and a valid body; a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('pause', 'resume'), idLike, bodyLike, async (action, id, body) => {
        const before = await snapshot()
        const response = await routerFetch(`/admin/destinations/${encodeURIComponent(id)}/${action}`, {
          method: 'POST',
          headers: admin,
          body,
        })
        expect(response.status).toBeLessThan(500)
        const validBody = action === 'pause' ? pauseBodyIsValid(body) : resumeBodyIsValid(body)
        if (response.status === 200) {
          expect(id).toBe(CONFIGURED)
          expect(validBody).toBe(true)
          // Back to running, so the next run starts from the same state.
          await routerFetch(`/admin/destinations/${encodeURIComponent(CONFIGURED)}/resume`, {
            method: 'POST',
            headers: admin,
          })
          return
        }
        expect([400, 404]).toContain(response.status)
        if (id === CONFIGURED) expect(validBody, await response.text()).toBe(false)
        expect(await snapshot()).toBe(before)
      }),
      RUNS,
    )
  })

  it('the audit list and the destinations list: any query string is a 200 or a 400, never more', async () => {
    const query = fc.oneof(
      fc
        .array(
          fc.tuple(fc.constantFrom('limit', 'target', 'x', '__proto__'), fc.string({ maxLength: 300 })),
          {
            maxLength: 3,
          },
        )
        .map((pairs) => new URLSearchParams(pairs).toString()),
      fc.string({ unit: fc.constantFrom('%', '&', '=', 'a', '0', 'é'), maxLength: 20 }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/admin/audit', '/admin/destinations'),
        query,
        async (path, search) => {
          const response = await routerFetch(`${path}?${search}`, { headers: admin })
          expect([200, 400]).toContain(response.status)
          const limit = new URLSearchParams(search).get('limit')
          if (path === '/admin/audit' && limit !== null && !/^\d+$/.test(limit))
            expect(response.status).toBe(400)
        },
      ),
      RUNS,
    )
  })
})
