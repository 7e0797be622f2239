/**
 * Emulator of the Crossing Minds API v1, written from the official clients and docs
 * (partners.md §1): `https://api.crossingminds.com/v1/...`.
 *
 * Facts it enforces:
 * - §1.2 every path ends with `/` (a path without is an unknown route: 404); JSON bodies.
 * - §1.3 service login `{name, password, db_id}` → `{token, refresh_token, role, org_id, database}`;
 *   every other route needs `Authorization: Bearer <jwt>`; an expired JWT is 401 code 22, an expired
 *   refresh token 401 code 28, anything else 401 code 21. The refresh token rotates on refresh.
 * - §1.4 user properties must be declared (`POST /v1/users-properties/`) before a user uses them;
 *   names max 64 of [A-Za-z0-9._-], case-insensitive, `user_id`/`item_id` reserved; values must match
 *   the declared `value_type` (`repeated` = list); re-declaring is 400 code 42. The bulk user routes
 *   (`PUT`/`PATCH /v1/users-bulk/properties/`) take 1-1 024 `users` rows, each with its `user_id`,
 *   and are all-or-nothing (assumed, like the interaction bulks).
 * - §1.5 interactions need `interaction_type` (string) and, in bulk, `item_id` and a numeric `timestamp`.
 * - §1.6 error envelope `{"error_code", "error_name", "message", "error_data"}`; `error_name` is the
 *   error class (`WrongData`, `JwtTokenExpired`, ...) and `error_data.name` the upper-case name, as in
 *   the Node client's fixtures (`{"error_code": 22, "error_name": "JwtTokenExpired", ...,
 *   "error_data": {"name": "JWT_TOKEN_EXPIRED"}}`).
 *
 * Test controls (`POST /__control/<action>`): `expire-tokens`, `expire-refresh-tokens`,
 * `token-lifetime {"seconds"}`, `state` (logins, refreshes, declared properties, users, interactions).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isPlainObject } from '../../src/lib/objects'
import type { PartnerApp, SandboxBindings } from '../core'
import { SANDBOX_CREDENTIALS } from '../credentials'

type CmContext = Context<{ Bindings: SandboxBindings }>

const PARTNER = 'crossingminds'
const credentials = SANDBOX_CREDENTIALS.crossingMinds

/**
 * The sandbox database. `urlsafe64` ids are plain strings in paths and bodies (Python `_id2url`);
 * the exact urlsafe alphabet is UNCONFIRMED, so only the length (1-64) is checked.
 */
const DATABASE = {
  id: credentials.dbId,
  name: 'sandbox',
  description: 'Crossing Minds sandbox database',
  item_id_type: 'urlsafe64',
  user_id_type: 'urlsafe64',
  session_id_type: 'urlsafe64',
} as const
const MAX_ID_LENGTH = 64

/** §1.3: the TS client assumes ~29 min JWTs and ~29 day refresh tokens (UNCONFIRMED). */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 29 * 60
const REFRESH_TOKEN_LIFETIME_SECONDS = 29 * 24 * 3600
/** §1.5: bulk routes take chunks of at most 16 384 interactions. */
const MAX_BULK_INTERACTIONS = 16_384
/** §1.4: the bulk user routes take chunks of 1 024 users. */
const MAX_BULK_USERS = 1_024

interface IssuedToken {
  expiresAt: number
}

interface DeclaredProperty {
  property_name: string
  value_type: string
  repeated: boolean
  indexed: boolean
}

interface RecordedInteraction {
  user_id?: string
  session_id?: string
  item_id: string
  interaction_type: string
  timestamp?: number
  properties?: Record<string, unknown>
}

interface CrossingMindsState {
  tokenLifetimeSeconds: number
  jwts: Map<string, IssuedToken>
  refreshTokens: Map<string, IssuedToken>
  logins: number
  refreshes: number
  /** By lower-cased name: names are case-insensitive (§1.4). */
  properties: Map<string, DeclaredProperty>
  users: Map<string, Record<string, unknown>>
  interactions: RecordedInteraction[]
}

function stateOf(c: CmContext): CrossingMindsState {
  return c.env.tenant.stateOf<CrossingMindsState>(PARTNER, () => ({
    tokenLifetimeSeconds: DEFAULT_TOKEN_LIFETIME_SECONDS,
    jwts: new Map(),
    refreshTokens: new Map(),
    logins: 0,
    refreshes: 0,
    properties: new Map(),
    users: new Map(),
    interactions: [],
  }))
}

// ---------------------------------------------------------------- errors (§1.6)

const ERRORS = {
  wrongData: { status: 400, code: 40, name: 'WrongData', message: 'There is an error in the submitted data' },
  duplicated: { status: 400, code: 42, name: 'DuplicatedError', message: 'The {type} {key} is duplicated' },
  authError: { status: 401, code: 21, name: 'AuthError', message: 'Cannot perform authentication' },
  jwtExpired: { status: 401, code: 22, name: 'JwtTokenExpired', message: 'The JWT token has expired' },
  refreshExpired: {
    status: 401,
    code: 28,
    name: 'RefreshTokenExpired',
    message: 'The refresh token has expired',
  },
  notFound: { status: 404, code: 60, name: 'NotFoundError', message: 'The resource does not exist' },
} as const satisfies Record<
  string,
  { status: ContentfulStatusCode; code: number; name: string; message: string }
>

function fail(c: CmContext, error: keyof typeof ERRORS, errorData: Record<string, unknown> = {}): Response {
  const { status, code, name, message } = ERRORS[error]
  return c.json({ error_code: code, error_name: name, message, error_data: errorData }, status)
}

/** 400 WrongData with the problem (`error_data.name` WRONG_DATA_TYPE, §1.4). */
function wrongData(c: CmContext, problem: string): Response {
  return fail(c, 'wrongData', { name: 'WRONG_DATA_TYPE', error: problem })
}

// ---------------------------------------------------------------- small validators

/** JSON object body with `Content-Type: application/json` (§1.2), else a problem text. */
async function readJsonObject(c: CmContext): Promise<Record<string, unknown> | string> {
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json'))
    return 'Content-Type must be application/json'
  try {
    const body: unknown = JSON.parse(await c.req.text())
    return isPlainObject(body) ? body : 'body must be a JSON object'
  } catch {
    return 'body is not valid JSON'
  }
}

function unknownField(body: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const extra = Object.keys(body).find((key) => !allowed.includes(key))
  return extra === undefined ? undefined : `unknown field ${extra}`
}

function checkId(value: unknown, field: string): string | undefined {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_ID_LENGTH
    ? undefined
    : `${field} must be a urlsafe64 id (a string of 1-64 characters)`
}

/** §1.4 names: max 64 of [A-Za-z0-9._-]; `user_id`/`item_id` reserved. */
const PROPERTY_NAME = /^[A-Za-z0-9._-]{1,64}$/
const RESERVED_NAMES = new Set(['user_id', 'item_id'])
/** §1.4 value types (TS `dataTypes.ts`; bare `unicode` from the PHP example). */
const VALUE_TYPE =
  /^(u?int(8|16|32|64)|float(32|64)|bool|unicode([1-9]\d?|1\d\d|2[0-4]\d|25[0-5])?|bytes([1-9]|[1-5]\d|6[0-4])|text|image_url)$/

function integerRange(valueType: string): [number, number] {
  const bits = Number(valueType.replace(/^u?int/, ''))
  if (valueType.startsWith('u')) return [0, bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1]
  return bits >= 53
    ? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
    : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
}

function fitsScalarType(value: unknown, valueType: string): boolean {
  if (/^u?int/.test(valueType)) {
    const [min, max] = integerRange(valueType)
    return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
  }
  if (valueType.startsWith('float')) return typeof value === 'number' && Number.isFinite(value)
  if (valueType === 'bool') return typeof value === 'boolean'
  if (valueType.startsWith('unicode')) {
    const max = Number(valueType.slice('unicode'.length)) || Number.POSITIVE_INFINITY
    return typeof value === 'string' && value.length <= max
  }
  return typeof value === 'string' // text, image_url, bytesN (base64)
}

function checkPropertyValue(value: unknown, property: DeclaredProperty): string | undefined {
  const fits = property.repeated
    ? Array.isArray(value) && value.every((item) => fitsScalarType(item, property.value_type))
    : fitsScalarType(value, property.value_type)
  return fits
    ? undefined
    : `property ${property.property_name} must be ${property.repeated ? 'a list of ' : ''}${property.value_type}`
}

/** Every key of a user object must be a declared property with a value of its type. */
function checkUserProperties(c: CmContext, user: Record<string, unknown>): string | undefined {
  const declared = stateOf(c).properties
  for (const [name, value] of Object.entries(user)) {
    const property = declared.get(name.toLowerCase())
    if (!property) return `property ${name} is not declared`
    const problem = checkPropertyValue(value, property)
    if (problem) return problem
  }
  return undefined
}

/** One interaction row; `subjectField` is `user_id`/`session_id` on the many-subjects bulk routes. */
function checkInteraction(
  entry: unknown,
  options: { itemInBody: boolean; subjectField?: 'user_id' | 'session_id'; timestampRequired: boolean },
): string | undefined {
  if (!isPlainObject(entry)) return 'each interaction must be an object'
  const allowed = ['interaction_type', 'timestamp', 'properties']
  if (options.itemInBody) allowed.push('item_id')
  if (options.subjectField) allowed.push(options.subjectField)
  const extra = unknownField(entry, allowed)
  if (extra) return extra
  if (options.subjectField) {
    const problem = checkId(entry[options.subjectField], options.subjectField)
    if (problem) return problem
  }
  if (options.itemInBody) {
    const problem = checkId(entry.item_id, 'item_id')
    if (problem) return problem
  }
  if (typeof entry.interaction_type !== 'string' || entry.interaction_type === '')
    return 'interaction_type must be a non-empty string'
  if (options.timestampRequired || entry.timestamp !== undefined) {
    if (typeof entry.timestamp !== 'number' || !Number.isFinite(entry.timestamp))
      return 'timestamp must be a number (Unix seconds)'
  }
  // Whether interaction properties must be declared is UNCONFIRMED (§1.5): only the shape is checked.
  if (entry.properties !== undefined && !isPlainObject(entry.properties))
    return 'properties must be an object'
  return undefined
}

function recordInteraction(
  c: CmContext,
  subject: Partial<RecordedInteraction>,
  entry: Record<string, unknown>,
): void {
  stateOf(c).interactions.push({
    ...subject,
    item_id: String(subject.item_id ?? entry.item_id),
    interaction_type: String(entry.interaction_type),
    ...(typeof entry.timestamp === 'number' && { timestamp: entry.timestamp }),
    ...(isPlainObject(entry.properties) && { properties: entry.properties }),
  })
}

// ---------------------------------------------------------------- tokens (§1.3)

function base64Url(text: string): string {
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** A JWT-shaped token whose payload carries `exp`, as the real service's do. */
function issueSession(c: CmContext): Record<string, unknown> {
  const state = stateOf(c)
  const now = Date.now()
  const exp = Math.floor(now / 1000) + state.tokenLifetimeSeconds
  const token = [
    base64Url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })),
    base64Url(
      JSON.stringify({ sub: credentials.name, db_id: DATABASE.id, iat: Math.floor(now / 1000), exp }),
    ),
    base64Url(crypto.randomUUID()),
  ].join('.')
  const refreshToken = crypto.randomUUID().replaceAll('-', '')
  state.jwts.set(token, { expiresAt: exp * 1000 })
  state.refreshTokens.set(refreshToken, { expiresAt: now + REFRESH_TOKEN_LIFETIME_SECONDS * 1000 })
  return { token, refresh_token: refreshToken, role: 'backend', org_id: 'sandbox-org', database: DATABASE }
}

const requireJwt: MiddlewareHandler<{ Bindings: SandboxBindings }> = async (c, next) => {
  const match = c.req.header('authorization')?.match(/^Bearer (\S+)$/)
  if (!match?.[1]) return fail(c, 'authError', { error: 'missing Bearer token' })
  const issued = stateOf(c).jwts.get(match[1])
  if (!issued) return fail(c, 'authError', { error: 'invalid token' })
  if (Date.now() >= issued.expiresAt) return fail(c, 'jwtExpired', { name: 'JWT_TOKEN_EXPIRED' })
  await next()
}

// ---------------------------------------------------------------- routes

export const crossingMindsEmulator: PartnerApp = new Hono<{ Bindings: SandboxBindings }>({ strict: true })

crossingMindsEmulator.post('/v1/login/service/', async (c) => {
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  for (const field of ['name', 'password'] as const)
    if (typeof body[field] !== 'string') return wrongData(c, `${field} is required`)
  if (typeof body.db_id !== 'string' && typeof body.db_name !== 'string')
    return wrongData(c, 'db_id or db_name is required')
  const database = body.db_id ?? body.db_name
  if (
    body.name !== credentials.name ||
    body.password !== credentials.password ||
    (database !== DATABASE.id && database !== DATABASE.name)
  )
    return fail(c, 'authError', { error: 'wrong name, password or database' })
  stateOf(c).logins += 1
  return c.json(issueSession(c))
})

crossingMindsEmulator.post('/v1/login/refresh-token/', async (c) => {
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  if (typeof body.refresh_token !== 'string') return wrongData(c, 'refresh_token is required')
  if (body.db_id !== undefined && body.db_id !== DATABASE.id)
    return fail(c, 'authError', { error: 'wrong database' })
  const state = stateOf(c)
  const issued = state.refreshTokens.get(body.refresh_token)
  if (!issued) return fail(c, 'authError', { error: 'invalid refresh token' })
  if (Date.now() >= issued.expiresAt) return fail(c, 'refreshExpired', { name: 'REFRESH_TOKEN_EXPIRED' })
  // The response carries a new refresh token (§1.3 "store the new refresh token"): the old one is spent.
  state.refreshTokens.delete(body.refresh_token)
  state.refreshes += 1
  return c.json(issueSession(c))
})

crossingMindsEmulator.post('/v1/users-properties/', requireJwt, async (c) => {
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  const problem =
    unknownField(body, ['property_name', 'value_type', 'repeated', 'indexed']) ??
    (typeof body.property_name === 'string' && PROPERTY_NAME.test(body.property_name)
      ? undefined
      : 'property_name must be 1-64 of [A-Za-z0-9._-]') ??
    (typeof body.property_name === 'string' && RESERVED_NAMES.has(body.property_name.toLowerCase())
      ? `property_name ${body.property_name} is reserved`
      : undefined) ??
    (typeof body.value_type === 'string' && VALUE_TYPE.test(body.value_type)
      ? undefined
      : 'invalid value_type') ??
    (body.repeated === undefined || typeof body.repeated === 'boolean'
      ? undefined
      : 'repeated must be a boolean') ??
    (body.indexed === undefined || typeof body.indexed === 'boolean'
      ? undefined
      : 'indexed must be a boolean')
  if (problem) return wrongData(c, problem)
  const name = String(body.property_name)
  const properties = stateOf(c).properties
  if (properties.has(name.toLowerCase()))
    return fail(c, 'duplicated', { name: 'DUPLICATED_USER_PROPERTY', type: 'user property', key: name })
  properties.set(name.toLowerCase(), {
    property_name: name,
    value_type: String(body.value_type),
    repeated: body.repeated === true,
    indexed: body.indexed === true,
  })
  return c.json({}, 201)
})

crossingMindsEmulator.get('/v1/users-properties/', requireJwt, (c) =>
  c.json({ properties: [...stateOf(c).properties.values()] }),
)

crossingMindsEmulator.get('/v1/users-properties/:name/', requireJwt, (c) => {
  const property = stateOf(c).properties.get(c.req.param('name').toLowerCase())
  return property
    ? c.json(property)
    : fail(c, 'notFound', { type: 'user property', key: c.req.param('name') })
})

crossingMindsEmulator.get('/v1/users/:userId/properties/', requireJwt, (c) => {
  const user = stateOf(c).users.get(c.req.param('userId'))
  return user
    ? c.json({ user: { user_id: c.req.param('userId'), ...user } })
    : fail(c, 'notFound', { type: 'user', key: c.req.param('userId') })
})

/** Applies one validated user write: replace the user, or merge into it (creating it only when allowed). */
function storeUser(
  c: CmContext,
  userId: string,
  user: Record<string, unknown>,
  mode: 'replace' | 'update',
  createIfMissing: boolean,
): { created: boolean } | undefined {
  const users = stateOf(c).users
  const existing = users.get(userId)
  if (mode === 'replace') users.set(userId, { ...user })
  else if (!existing && !createIfMissing) return undefined
  else users.set(userId, { ...existing, ...user })
  return { created: !existing }
}

async function writeUser(c: CmContext, mode: 'replace' | 'update'): Promise<Response> {
  const userId = c.req.param('userId') ?? ''
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  const optionFlag = mode === 'update' ? 'create_if_missing' : 'wait_for_completion'
  const problem =
    unknownField(body, ['user', optionFlag]) ??
    checkId(userId, 'user_id') ??
    (isPlainObject(body.user) ? checkUserProperties(c, body.user) : 'user must be an object') ??
    (body[optionFlag] === undefined || typeof body[optionFlag] === 'boolean'
      ? undefined
      : `${optionFlag} must be a boolean`)
  if (problem) return wrongData(c, problem)
  const stored = storeUser(
    c,
    userId,
    body.user as Record<string, unknown>,
    mode,
    body.create_if_missing === true,
  )
  if (!stored) return fail(c, 'notFound', { type: 'user', key: userId })
  return c.json(mode === 'replace' ? {} : { user_created: stored.created, user_modified: !stored.created })
}

/** §1.4 bulk: `users` rows carry their `user_id`; every row is checked before any is written. */
async function writeUsersBulk(c: CmContext, mode: 'replace' | 'update'): Promise<Response> {
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  const optionFlag = mode === 'update' ? 'create_if_missing' : 'wait_for_completion'
  const allowed = mode === 'update' ? ['users', optionFlag] : ['users', 'users_m2m', optionFlag]
  const rows = body.users
  const problem =
    unknownField(body, allowed) ??
    (Array.isArray(rows) && rows.length > 0 && rows.length <= MAX_BULK_USERS
      ? undefined
      : `users must be a list of 1-${MAX_BULK_USERS} users`) ??
    (body[optionFlag] === undefined || typeof body[optionFlag] === 'boolean'
      ? undefined
      : `${optionFlag} must be a boolean`)
  if (problem) return wrongData(c, problem)
  const users = rows as unknown[]
  for (const [index, row] of users.entries()) {
    if (!isPlainObject(row)) return wrongData(c, `users[${index}] must be an object`)
    const { user_id: userId, ...properties } = row
    const rowProblem = checkId(userId, 'user_id') ?? checkUserProperties(c, properties)
    if (rowProblem) return wrongData(c, `users[${index}]: ${rowProblem}`)
  }
  for (const row of users as Record<string, unknown>[]) {
    const { user_id: userId, ...properties } = row
    storeUser(c, String(userId), properties, mode, body.create_if_missing === true)
  }
  return c.json({})
}

crossingMindsEmulator.put('/v1/users/:userId/properties/', requireJwt, (c) => writeUser(c, 'replace'))
crossingMindsEmulator.patch('/v1/users/:userId/properties/', requireJwt, (c) => writeUser(c, 'update'))
crossingMindsEmulator.put('/v1/users-bulk/properties/', requireJwt, (c) => writeUsersBulk(c, 'replace'))
crossingMindsEmulator.patch('/v1/users-bulk/properties/', requireJwt, (c) => writeUsersBulk(c, 'update'))

/** Single-interaction routes: the item is in the path, `timestamp` optional (default now). */
async function createOneInteraction(c: CmContext, subject: 'user_id' | 'session_id'): Promise<Response> {
  const subjectId = c.req.param(subject === 'user_id' ? 'userId' : 'sessionId') ?? ''
  const itemId = c.req.param('itemId') ?? ''
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  const problem =
    checkId(subjectId, subject) ??
    checkId(itemId, 'item_id') ??
    checkInteraction(body, { itemInBody: false, timestampRequired: false })
  if (problem) return wrongData(c, problem)
  recordInteraction(c, { [subject]: subjectId, item_id: itemId }, body)
  return c.json({}, 201)
}

/** Bulk routes: per subject (subject in the path) or many subjects (subject in each row). */
async function createInteractionsBulk(
  c: CmContext,
  subject: 'user_id' | 'session_id',
  subjectInPath: boolean,
): Promise<Response> {
  const pathSubject = subjectInPath
    ? (c.req.param(subject === 'user_id' ? 'userId' : 'sessionId') ?? '')
    : undefined
  const body = await readJsonObject(c)
  if (typeof body === 'string') return wrongData(c, body)
  const interactions = body.interactions
  const problem =
    unknownField(body, ['interactions']) ??
    (pathSubject !== undefined ? checkId(pathSubject, subject) : undefined) ??
    (Array.isArray(interactions) && interactions.length > 0 && interactions.length <= MAX_BULK_INTERACTIONS
      ? undefined
      : `interactions must be a list of 1-${MAX_BULK_INTERACTIONS} interactions`)
  if (problem) return wrongData(c, problem)
  const rows = interactions as unknown[]
  for (const [index, entry] of rows.entries()) {
    const rowProblem = checkInteraction(entry, {
      itemInBody: true,
      timestampRequired: true,
      ...(pathSubject === undefined && { subjectField: subject }),
    })
    if (rowProblem) return wrongData(c, `interactions[${index}]: ${rowProblem}`)
  }
  // All rows are valid: record them together, as the real bulk is all-or-nothing.
  for (const entry of rows as Record<string, unknown>[])
    recordInteraction(c, { [subject]: pathSubject ?? String(entry[subject]) }, entry)
  return c.json({}, 201)
}

crossingMindsEmulator.post('/v1/users/:userId/interactions/:itemId/', requireJwt, (c) =>
  createOneInteraction(c, 'user_id'),
)
crossingMindsEmulator.post('/v1/users/:userId/interactions-bulk/', requireJwt, (c) =>
  createInteractionsBulk(c, 'user_id', true),
)
crossingMindsEmulator.post('/v1/interactions-bulk/', requireJwt, (c) =>
  createInteractionsBulk(c, 'user_id', false),
)
crossingMindsEmulator.post('/v1/sessions/:sessionId/items/:itemId/interactions/', requireJwt, (c) =>
  createOneInteraction(c, 'session_id'),
)
crossingMindsEmulator.post('/v1/sessions/:sessionId/interactions-bulk/', requireJwt, (c) =>
  createInteractionsBulk(c, 'session_id', true),
)
crossingMindsEmulator.post('/v1/sessions-interactions-bulk/', requireJwt, (c) =>
  createInteractionsBulk(c, 'session_id', false),
)

// ---------------------------------------------------------------- test controls

crossingMindsEmulator.post('/__control/expire-tokens', (c) => {
  for (const token of stateOf(c).jwts.values()) token.expiresAt = 0
  return c.json({ ok: true })
})

crossingMindsEmulator.post('/__control/expire-refresh-tokens', (c) => {
  for (const token of stateOf(c).refreshTokens.values()) token.expiresAt = 0
  return c.json({ ok: true })
})

/** `{"seconds": n}`: lifetime of JWTs issued from now on. */
crossingMindsEmulator.post('/__control/token-lifetime', async (c) => {
  const body: unknown = await c.req.json().catch(() => undefined)
  const seconds = isPlainObject(body) ? body.seconds : undefined
  if (typeof seconds !== 'number' || !(seconds > 0))
    return c.json({ error: 'seconds must be a positive number' }, 400)
  stateOf(c).tokenLifetimeSeconds = seconds
  return c.json({ ok: true })
})

crossingMindsEmulator.post('/__control/state', (c) => {
  const state = stateOf(c)
  return c.json({
    logins: state.logins,
    refreshes: state.refreshes,
    properties: [...state.properties.values()],
    users: Object.fromEntries(state.users),
    interactions: state.interactions,
  })
})

// §1.6 NotFoundError for any other route, including a path without its trailing slash.
crossingMindsEmulator.notFound((c) =>
  fail(c, 'notFound', { type: 'route', key: `${c.req.method} ${c.req.path}` }),
)
