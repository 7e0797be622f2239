/**
 * Emulator of CrowdPower's Beacon API (`https://beacon.crowdpower.io`), written from
 * CrowdPower's docs as summarised in partners.md §3:
 * - §3.2 auth: `Authorization: Bearer <project key>` or the `api_key` request parameter.
 * - §3.3 routes: `POST /customers`, `/customers/bulk`, `/events`, `/events/bulk`, `/charges`, `/charges/bulk`;
 *   `user_id` (or `email` when there is no user_id) on every call, `action` on events, an integer `amount`
 *   in the smallest currency unit on charges, Unix-second timestamps; success
 *   `{"success": true, "code": 200, "data": null}`; customers matched by user_id, else email, else created.
 * - §3.4 attribute/property keys are snake_case and dates are Unix seconds on `_at` keys: enforced here
 *   (400 for a non-snake_case key, 422 for a non-integer `_at` value) so a mapping bug fails a test.
 * The error body shape is UNCONFIRMED (§3.3): assume `{"success": false, "code": <status>, "message": "..."}`.
 */
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isPlainObject } from '../../src/lib/objects'
import type { PartnerApp, SandboxBindings } from '../core'
import { SANDBOX_CREDENTIALS } from '../credentials'

export interface CrowdPowerCustomerRecord {
  user_id?: string
  email?: string
  fields: Record<string, unknown>
  custom_attributes: Record<string, unknown>
  events: Record<string, unknown>[]
  charges: Record<string, unknown>[]
}

interface CrowdPowerState {
  customers: CrowdPowerCustomerRecord[]
}

type CrowdPowerContext = Context<{ Bindings: SandboxBindings }>

const PARTNER = 'crowdpower'
const PUBLIC_KEY = SANDBOX_CREDENTIALS.crowdPower.publicKey
/** Bulk size cap: not published (UNCONFIRMED); assume 100 so an unchunked bulk fails a test. */
const BULK_LIMIT = 100
const SNAKE_CASE_KEY = /^[a-z0-9]+(?:_[a-z0-9]+)*$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** §3.3 body fields per route (besides the user): an unknown field is a client bug, so it is refused. */
const USER_FIELDS = ['user_id', 'email', 'update_session']
const CUSTOMER_FIELDS = new Set([
  ...USER_FIELDS,
  'name',
  'first_name',
  'last_name',
  'phone',
  'signed_up_at',
  'ip',
  'custom_attributes',
])
const EVENT_FIELDS = new Set(['action', 'properties', 'created_at'])
const CHARGE_FIELDS = new Set(['amount', 'created_at'])

/** A refusal: `status` 400 for malformed bodies and key casing, 422 for field validation. */
class Refusal {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly message: string,
  ) {}
}

function stateOf(c: CrowdPowerContext): CrowdPowerState {
  return c.env.tenant.stateOf<CrowdPowerState>(PARTNER, () => ({ customers: [] }))
}

function fail(c: CrowdPowerContext, status: ContentfulStatusCode, message: string): Response {
  return c.json({ success: false, code: status, message }, status)
}

function ok(c: CrowdPowerContext): Response {
  return c.json({ success: true, code: 200, data: null }, 200)
}

function isInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value)
}

function refuseUnknownFields(body: Record<string, unknown>, allowed: Set<string>, where: string): void {
  const unknown = Object.keys(body).find((key) => !allowed.has(key))
  if (unknown) throw new Refusal(422, `${where}: unknown field ${unknown}`)
}

/** §3.4: snake_case keys at every depth, integer Unix seconds on `_at` keys. */
function checkAttributes(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      checkAttributes(entry, `${path}.${index}`)
    })
    return
  }
  if (!isPlainObject(value)) return
  for (const [key, entry] of Object.entries(value)) {
    if (!SNAKE_CASE_KEY.test(key)) throw new Refusal(400, `${path}: key "${key}" must be snake_case`)
    if ((key === 'at' || key.endsWith('_at')) && !isInteger(entry)) {
      throw new Refusal(422, `${path}.${key} must be a Unix timestamp in seconds (integer)`)
    }
    checkAttributes(entry, `${path}.${key}`)
  }
}

/** §3.3: `user_id` (string), or `email` when there is no user_id. */
function checkUser(body: Record<string, unknown>, where: string): void {
  if (body.user_id !== undefined && (typeof body.user_id !== 'string' || body.user_id === '')) {
    throw new Refusal(422, `${where}: user_id must be a non-empty string`)
  }
  if (body.email !== undefined && (typeof body.email !== 'string' || !EMAIL.test(body.email))) {
    throw new Refusal(422, `${where}: email must be a valid email address`)
  }
  if (body.user_id === undefined && body.email === undefined) {
    throw new Refusal(422, `${where}: user_id is required when email is not present`)
  }
  if (body.update_session !== undefined && typeof body.update_session !== 'boolean') {
    throw new Refusal(422, `${where}: update_session must be a boolean`)
  }
}

function checkTimestamp(body: Record<string, unknown>, field: string, where: string): void {
  if (body[field] !== undefined && !isInteger(body[field])) {
    throw new Refusal(422, `${where}: ${field} must be a Unix timestamp in seconds (integer)`)
  }
}

function checkCustomer(body: Record<string, unknown>, where: string): void {
  refuseUnknownFields(body, CUSTOMER_FIELDS, where)
  checkUser(body, where)
  for (const field of ['name', 'first_name', 'last_name', 'phone', 'ip']) {
    if (body[field] !== undefined && typeof body[field] !== 'string') {
      throw new Refusal(422, `${where}: ${field} must be a string`)
    }
  }
  checkTimestamp(body, 'signed_up_at', where)
  if (body.custom_attributes !== undefined) {
    if (!isPlainObject(body.custom_attributes))
      throw new Refusal(422, `${where}: custom_attributes must be an object`)
    checkAttributes(body.custom_attributes, `${where}.custom_attributes`)
  }
}

function checkEvent(body: Record<string, unknown>, where: string): void {
  if (typeof body.action !== 'string' || body.action.trim() === '') {
    throw new Refusal(422, `${where}: action is required`)
  }
  checkTimestamp(body, 'created_at', where)
  if (body.properties !== undefined) {
    if (!isPlainObject(body.properties)) throw new Refusal(422, `${where}: properties must be an object`)
    checkAttributes(body.properties, `${where}.properties`)
  }
}

function checkCharge(body: Record<string, unknown>, where: string): void {
  // §3.3: amount is an integer in the smallest currency unit (1200 = $12.00); a float is refused.
  if (!isInteger(body.amount) || (body.amount as number) < 0) {
    throw new Refusal(422, `${where}: amount must be an integer ≥ 0 (smallest currency unit)`)
  }
  checkTimestamp(body, 'created_at', where)
}

/** A bulk list: present, an array of objects, within the size cap. */
function checkList(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new Refusal(422, `${field} must be a non-empty array`)
  if (value.length > BULK_LIMIT) throw new Refusal(422, `${field} may hold at most ${BULK_LIMIT} entries`)
  if (!value.every(isPlainObject)) throw new Refusal(422, `${field} entries must be objects`)
  return value
}

async function readObject(c: CrowdPowerContext): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    body = JSON.parse(await c.req.text())
  } catch {
    throw new Refusal(400, 'body must be JSON')
  }
  if (!isPlainObject(body)) throw new Refusal(400, 'body must be a JSON object')
  return body
}

/** The Basics: matched by user_id, else by email; an unknown customer is created. */
function customerFor(c: CrowdPowerContext, user: Record<string, unknown>): CrowdPowerCustomerRecord {
  const userId = typeof user.user_id === 'string' ? user.user_id : undefined
  const email = typeof user.email === 'string' ? user.email.toLowerCase() : undefined
  const customers = stateOf(c).customers
  let customer =
    userId !== undefined
      ? customers.find((candidate) => candidate.user_id === userId)
      : customers.find((candidate) => candidate.email === email)
  if (!customer) {
    customer = { fields: {}, custom_attributes: {}, events: [], charges: [] }
    customers.push(customer)
  }
  if (userId !== undefined) customer.user_id = userId
  if (email !== undefined) customer.email = email
  return customer
}

function saveCustomer(c: CrowdPowerContext, body: Record<string, unknown>): void {
  const customer = customerFor(c, body)
  const { user_id: _userId, email: _email, update_session: _session, custom_attributes, ...fields } = body
  customer.fields = { ...customer.fields, ...fields }
  if (isPlainObject(custom_attributes))
    customer.custom_attributes = { ...customer.custom_attributes, ...custom_attributes }
}

/** Runs a handler, turning a `Refusal` into CrowdPower's error body. */
function route(handler: (c: CrowdPowerContext) => Promise<void>) {
  return async (c: CrowdPowerContext): Promise<Response> => {
    try {
      await handler(c)
      return ok(c)
    } catch (error) {
      if (error instanceof Refusal) return fail(c, error.status, error.message)
      throw error
    }
  }
}

export const crowdPowerEmulator: PartnerApp = new Hono<{ Bindings: SandboxBindings }>()

// §3.2: Bearer key, or the `api_key` request parameter.
crowdPowerEmulator.use('*', async (c, next) => {
  if (c.req.path.startsWith('/__control/')) return next()
  const bearer = c.req.header('authorization')
  if (bearer !== `Bearer ${PUBLIC_KEY}` && c.req.query('api_key') !== PUBLIC_KEY) {
    return fail(c, 401, 'Unauthenticated: invalid or missing API key')
  }
  await next()
})

crowdPowerEmulator.post(
  '/customers',
  route(async (c) => {
    const body = await readObject(c)
    checkCustomer(body, 'customer')
    saveCustomer(c, body)
  }),
)

crowdPowerEmulator.post(
  '/customers/bulk',
  route(async (c) => {
    const body = await readObject(c)
    refuseUnknownFields(body, new Set(['customers']), 'body')
    const customers = checkList(body.customers, 'customers')
    customers.forEach((customer, index) => {
      checkCustomer(customer, `customers.${index}`)
    })
    for (const customer of customers) saveCustomer(c, customer)
  }),
)

crowdPowerEmulator.post(
  '/events',
  route(async (c) => {
    const body = await readObject(c)
    refuseUnknownFields(body, new Set([...USER_FIELDS, ...EVENT_FIELDS]), 'event')
    checkUser(body, 'event')
    checkEvent(body, 'event')
    const { user_id: _userId, email: _email, update_session: _session, ...event } = body
    customerFor(c, body).events.push(event)
  }),
)

crowdPowerEmulator.post(
  '/events/bulk',
  route(async (c) => {
    const body = await readObject(c)
    refuseUnknownFields(body, new Set([...USER_FIELDS, 'events']), 'body')
    checkUser(body, 'body')
    const events = checkList(body.events, 'events')
    events.forEach((event, index) => {
      refuseUnknownFields(event, EVENT_FIELDS, `events.${index}`)
      checkEvent(event, `events.${index}`)
    })
    customerFor(c, body).events.push(...events)
  }),
)

crowdPowerEmulator.post(
  '/charges',
  route(async (c) => {
    const body = await readObject(c)
    refuseUnknownFields(body, new Set([...USER_FIELDS, ...CHARGE_FIELDS]), 'charge')
    checkUser(body, 'charge')
    checkCharge(body, 'charge')
    const { user_id: _userId, email: _email, update_session: _session, ...charge } = body
    customerFor(c, body).charges.push(charge)
  }),
)

crowdPowerEmulator.post(
  '/charges/bulk',
  route(async (c) => {
    const body = await readObject(c)
    refuseUnknownFields(body, new Set([...USER_FIELDS, 'charges']), 'body')
    checkUser(body, 'body')
    const charges = checkList(body.charges, 'charges')
    charges.forEach((charge, index) => {
      refuseUnknownFields(charge, CHARGE_FIELDS, `charges.${index}`)
      checkCharge(charge, `charges.${index}`)
    })
    customerFor(c, body).charges.push(...charges)
  }),
)

// Test control (not part of CrowdPower): the customers as CrowdPower holds them.
crowdPowerEmulator.post('/__control/snapshot', (c) => c.json(stateOf(c).customers))

crowdPowerEmulator.notFound((c) => fail(c, 404, `no route for ${c.req.method} ${c.req.path}`))
