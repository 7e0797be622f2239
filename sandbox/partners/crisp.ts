/**
 * Emulator of Crisp's REST API v1 people routes, written from the API reference
 * (partners.md §2): `https://api.crisp.chat/v1/website/{website_id}/people/...`.
 *
 * Facts it enforces:
 * - §2.2 auth: `Authorization: Basic base64(identifier:key)` and `X-Crisp-Tier` (user | website | plugin)
 *   on every request; anything else is 401 `invalid_session`.
 * - §2.3 routes and bodies: the profile card fields, people data `{"data": {...}}` with string/number/boolean
 *   values under `[A-Za-z0-9_]` keys, people events `{"text", "data"?, "color"?}`.
 * - §2.4 every `{people_id}` route also takes the person's email.
 * - §2.5 envelope `{"error", "reason", "data"}`; reasons `added`, `updated`, `resolved`, `deleted`,
 *   `people_exists`, `people_not_found`, `invalid_data`.
 */
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isPlainObject } from '../../src/lib/objects'
import type { PartnerApp, SandboxBindings } from '../core'
import { SANDBOX_CREDENTIALS } from '../credentials'

type Scalar = string | number | boolean

interface CrispEvent {
  text: string
  data?: Record<string, Scalar>
  color?: string
  timestamp: number
}

interface CrispPerson {
  people_id: string
  email: string
  person: Record<string, unknown>
  company?: Record<string, unknown>
  segments: string[]
  notepad?: string
  active?: number
  data: Record<string, Scalar>
  events: CrispEvent[]
}

interface CrispState {
  people: Map<string, CrispPerson>
}

type CrispContext = Context<{ Bindings: SandboxBindings }>

const PARTNER = 'crisp'
const credentials = SANDBOX_CREDENTIALS.crisp
const EXPECTED_AUTHORIZATION = `Basic ${btoa(`${credentials.identifier}:${credentials.key}`)}`
/** §2.2 `CrispTier`. */
const TIERS = new Set(['user', 'website', 'plugin'])
/** §2.3 event colours (UNCONFIRMED in the official reference; the list third-party clients use). */
const EVENT_COLORS = new Set([
  'red',
  'orange',
  'yellow',
  'green',
  'blue',
  'purple',
  'pink',
  'brown',
  'grey',
  'black',
])
/** §2.3 `PeopleProfileUpdateCard` top-level fields and `person` fields. */
const CARD_FIELDS = new Set(['email', 'person', 'company', 'segments', 'notepad', 'active'])
const PERSON_FIELDS = new Set([
  'nickname',
  'avatar',
  'gender',
  'phone',
  'address',
  'description',
  'website',
  'timezone',
  'profiles',
  'employment',
  'geolocation',
  'locales',
])
/** §2.3: data and event-data keys are letters, digits and `_` only. */
const DATA_KEY = /^[A-Za-z0-9_]+$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function stateOf(c: CrispContext): CrispState {
  return c.env.tenant.stateOf<CrispState>(PARTNER, () => ({ people: new Map() }))
}

/** §2.5 envelope. */
function answer(c: CrispContext, status: ContentfulStatusCode, reason: string, data: unknown = {}): Response {
  return c.json({ error: status >= 400, reason, data }, status)
}

function isScalar(value: unknown): value is Scalar {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

/** Returns a problem description, or undefined when the card is valid. */
function checkProfileCard(body: Record<string, unknown>, options: { creating: boolean }): string | undefined {
  const unknown = Object.keys(body).find((key) => !CARD_FIELDS.has(key))
  if (unknown) return `unknown field ${unknown}`
  if (options.creating || body.email !== undefined) {
    if (typeof body.email !== 'string' || !EMAIL.test(body.email)) return 'email must be a valid email'
  }
  if (body.person !== undefined && !isPlainObject(body.person)) return 'person must be an object'
  const person = isPlainObject(body.person) ? body.person : {}
  const unknownPerson = Object.keys(person).find((key) => !PERSON_FIELDS.has(key))
  if (unknownPerson) return `unknown field person.${unknownPerson}`
  // Crisp requires a nickname when adding a profile (REST reference, "Add New People Profile").
  if (options.creating && (typeof person.nickname !== 'string' || person.nickname.trim() === '')) {
    return 'person.nickname is required'
  }
  for (const field of ['nickname', 'avatar', 'gender', 'phone', 'description', 'website', 'timezone']) {
    if (person[field] !== undefined && typeof person[field] !== 'string')
      return `person.${field} must be a string`
  }
  if (body.company !== undefined && !isPlainObject(body.company)) return 'company must be an object'
  if (
    body.segments !== undefined &&
    !(Array.isArray(body.segments) && body.segments.every((s) => typeof s === 'string'))
  ) {
    return 'segments must be an array of strings'
  }
  if (body.notepad !== undefined && typeof body.notepad !== 'string') return 'notepad must be a string'
  if (body.active !== undefined && typeof body.active !== 'number') return 'active must be a number'
  return undefined
}

/** Flat `{key: string|number|boolean}` with `[A-Za-z0-9_]` keys (§2.3). */
function checkFlatData(data: unknown, field: string): string | undefined {
  if (!isPlainObject(data)) return `${field} must be an object`
  for (const [key, value] of Object.entries(data)) {
    if (!DATA_KEY.test(key)) return `${field} key "${key}" must only contain letters, digits and _`
    if (!isScalar(value)) return `${field}.${key} must be a string, number or boolean`
  }
  return undefined
}

function checkPeopleEvent(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).find((key) => !['text', 'data', 'color'].includes(key))
  if (unknown) return `unknown field ${unknown}`
  if (typeof body.text !== 'string' || body.text.trim() === '') return 'text is required'
  if (body.data !== undefined) {
    const problem = checkFlatData(body.data, 'data')
    if (problem) return problem
  }
  if (body.color !== undefined && !(typeof body.color === 'string' && EVENT_COLORS.has(body.color))) {
    return 'color must be one of the event colors'
  }
  return undefined
}

/** JSON object body, or undefined when the body is not one (Crisp answers 400 `invalid_data`). */
async function readObject(c: CrispContext): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = JSON.parse(await c.req.text())
    return isPlainObject(body) ? body : undefined
  } catch {
    return undefined
  }
}

/** §2.4: `{people_id}` is the UUID or the person's email. */
function findPerson(c: CrispContext, idOrEmail: string): CrispPerson | undefined {
  const people = stateOf(c).people
  if (!idOrEmail.includes('@')) return people.get(idOrEmail)
  const email = idOrEmail.toLowerCase()
  for (const person of people.values()) if (person.email === email) return person
  return undefined
}

function addPerson(c: CrispContext, card: Record<string, unknown>): CrispPerson {
  const person: CrispPerson = {
    people_id: crypto.randomUUID(),
    email: String(card.email).toLowerCase(),
    person: isPlainObject(card.person) ? { ...card.person } : {},
    segments: Array.isArray(card.segments) ? (card.segments as string[]) : [],
    data: {},
    events: [],
    ...(isPlainObject(card.company) && { company: card.company }),
    ...(typeof card.notepad === 'string' && { notepad: card.notepad }),
    ...(typeof card.active === 'number' && { active: card.active }),
  }
  stateOf(c).people.set(person.people_id, person)
  return person
}

function profileOf(person: CrispPerson): Record<string, unknown> {
  return {
    people_id: person.people_id,
    email: person.email,
    person: person.person,
    segments: person.segments,
    ...(person.company && { company: person.company }),
    ...(person.notepad !== undefined && { notepad: person.notepad }),
    ...(person.active !== undefined && { active: person.active }),
  }
}

export const crispEmulator: PartnerApp = new Hono<{ Bindings: SandboxBindings }>()

// §2.2: every API request carries the keypair and a valid tier, or Crisp refuses the session.
crispEmulator.use('/v1/*', async (c, next) => {
  const tier = c.req.header('x-crisp-tier')
  if (c.req.header('authorization') !== EXPECTED_AUTHORIZATION || !tier || !TIERS.has(tier)) {
    return answer(c, 401, 'invalid_session')
  }
  await next()
})

// The token is only valid for the sandbox website (UNCONFIRMED status/reason for another website: assume 403 `not_allowed`).
crispEmulator.use('/v1/website/:websiteId/*', async (c, next) => {
  if (c.req.param('websiteId') !== credentials.websiteId) return answer(c, 403, 'not_allowed')
  await next()
})

const base = '/v1/website/:websiteId/people'

crispEmulator.post(`${base}/profile`, async (c) => {
  const body = await readObject(c)
  const problem = body ? checkProfileCard(body, { creating: true }) : 'body must be a JSON object'
  if (!body || problem) return answer(c, 400, 'invalid_data', { message: problem })
  // §2.5: adding an existing email → `people_exists` (status UNCONFIRMED; assume 409).
  if (findPerson(c, String(body.email))) return answer(c, 409, 'people_exists')
  return answer(c, 201, 'added', { people_id: addPerson(c, body).people_id })
})

crispEmulator.get(`${base}/profile/:people`, (c) => {
  const person = findPerson(c, c.req.param('people'))
  return person ? answer(c, 200, 'resolved', profileOf(person)) : answer(c, 404, 'people_not_found')
})

async function writeProfile(c: CrispContext, mode: 'merge' | 'replace'): Promise<Response> {
  const person = findPerson(c, c.req.param('people') ?? '')
  if (!person) return answer(c, 404, 'people_not_found')
  const body = await readObject(c)
  const problem = body
    ? checkProfileCard(body, { creating: mode === 'replace' })
    : 'body must be a JSON object'
  if (!body || problem) return answer(c, 400, 'invalid_data', { message: problem })
  if (typeof body.email === 'string') {
    const owner = findPerson(c, body.email)
    if (owner && owner !== person) return answer(c, 409, 'people_exists')
    person.email = body.email.toLowerCase()
  }
  const incoming = isPlainObject(body.person) ? body.person : {}
  person.person = mode === 'merge' ? { ...person.person, ...incoming } : { ...incoming }
  if (isPlainObject(body.company))
    person.company = mode === 'merge' ? { ...person.company, ...body.company } : body.company
  if (Array.isArray(body.segments)) person.segments = body.segments as string[]
  if (typeof body.notepad === 'string') person.notepad = body.notepad
  if (typeof body.active === 'number') person.active = body.active
  return answer(c, 200, 'updated')
}

// §2.3: PATCH = "Update" (merge), PUT = "Save" (replace; a full card, so email and nickname are required).
crispEmulator.patch(`${base}/profile/:people`, (c) => writeProfile(c, 'merge'))
crispEmulator.put(`${base}/profile/:people`, (c) => writeProfile(c, 'replace'))

crispEmulator.delete(`${base}/profile/:people`, (c) => {
  const person = findPerson(c, c.req.param('people'))
  if (!person) return answer(c, 404, 'people_not_found')
  stateOf(c).people.delete(person.people_id)
  return answer(c, 200, 'deleted')
})

crispEmulator.get(`${base}/data/:people`, (c) => {
  const person = findPerson(c, c.req.param('people'))
  return person ? answer(c, 200, 'resolved', { data: person.data }) : answer(c, 404, 'people_not_found')
})

async function writeData(c: CrispContext, mode: 'merge' | 'replace'): Promise<Response> {
  const person = findPerson(c, c.req.param('people') ?? '')
  if (!person) return answer(c, 404, 'people_not_found')
  const body = await readObject(c)
  const extra = body && Object.keys(body).find((key) => key !== 'data')
  const problem = !body
    ? 'body must be a JSON object'
    : extra
      ? `unknown field ${extra}`
      : checkFlatData(body.data, 'data')
  if (!body || problem) return answer(c, 400, 'invalid_data', { message: problem })
  const data = body.data as Record<string, Scalar>
  person.data = mode === 'merge' ? { ...person.data, ...data } : { ...data }
  return answer(c, 200, 'updated')
}

crispEmulator.patch(`${base}/data/:people`, (c) => writeData(c, 'merge'))
crispEmulator.put(`${base}/data/:people`, (c) => writeData(c, 'replace'))

crispEmulator.post(`${base}/events/:people`, async (c) => {
  const person = findPerson(c, c.req.param('people'))
  if (!person) return answer(c, 404, 'people_not_found')
  const body = await readObject(c)
  const problem = body ? checkPeopleEvent(body) : 'body must be a JSON object'
  if (!body || problem) return answer(c, 400, 'invalid_data', { message: problem })
  person.events.push({
    text: String(body.text),
    timestamp: Date.now(),
    ...(isPlainObject(body.data) && { data: body.data as Record<string, Scalar> }),
    ...(typeof body.color === 'string' && { color: body.color }),
  })
  return answer(c, 201, 'added')
})

crispEmulator.get(`${base}/events/:people/list/:page`, (c) => {
  const person = findPerson(c, c.req.param('people'))
  if (!person) return answer(c, 404, 'people_not_found')
  const page = Number(c.req.param('page'))
  const size = 20
  return answer(c, 200, 'resolved', person.events.slice((page - 1) * size, page * size))
})

// Test controls (not part of Crisp): inspect state, and change it the way a Crisp operator would.
crispEmulator.post('/__control/snapshot', (c) =>
  c.json(
    [...stateOf(c).people.values()].map((person) => ({
      ...profileOf(person),
      data: person.data,
      events: person.events,
    })),
  ),
)

/** Body `{ email, nickname? }`: a person that already exists in Crisp before the router talks to it. */
crispEmulator.post('/__control/add-person', async (c) => {
  const body = (await readObject(c)) ?? {}
  const email = String(body.email ?? '')
  const card = { email, person: { nickname: String(body.nickname ?? email.split('@')[0]) } }
  return c.json(profileOf(addPerson(c, card)))
})

/** Body `{ email }`: the person was deleted in Crisp (e.g. by an operator). */
crispEmulator.post('/__control/delete-person', async (c) => {
  const body = (await readObject(c)) ?? {}
  const person = findPerson(c, String(body.email ?? ''))
  if (person) stateOf(c).people.delete(person.people_id)
  return c.json({ deleted: person !== undefined })
})

// Unknown routes and methods (UNCONFIRMED reason; assume `not_found` in the same envelope).
crispEmulator.notFound((c) => answer(c, 404, 'not_found'))
