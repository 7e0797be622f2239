/**
 * Emulator of Calixa's Segment webhook, written from Segment's direct-destination
 * guide and Calixa's Segment docs (partners.md §0.3, §4.2). Calixa never published
 * the URL (UNCONFIRMED): the sandbox serves it at `POST /segment/webhook`.
 *
 * Facts it enforces:
 * - §0.3 `Authorization: Basic base64(apiKey + ":")` (colon always present) → else 401;
 *   `X-Segment-Settings` is base64 JSON → else 400; Segment's `User-Agent` (`Segment.io/1.0`) → else 403;
 *   JSON body = one raw Segment message with `type` and `messageId` → else 400;
 *   unsupported call types → 501; errors carry `{"message": "..."}`.
 * - §4.2 identify (userId; email, firstName, lastName), group (groupId; name, website), and the B2B SaaS
 *   tracks `Signed Up`, `Account Created`, `Account Deleted`, `Account Added User`, `Account Removed User`
 *   with the account in `context.groupId` (`Signed Up` may omit it) → else 400; page is not supported.
 *
 * Test control: `POST /__control/state` returns the users, accounts and accepted messages.
 */
import { type Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isPlainObject } from '../../src/lib/objects'
import type { PartnerApp, SandboxBindings } from '../core'
import { SANDBOX_CREDENTIALS } from '../credentials'

type CalixaContext = Context<{ Bindings: SandboxBindings }>

const PARTNER = 'calixa'
const EXPECTED_AUTHORIZATION = `Basic ${btoa(`${SANDBOX_CREDENTIALS.calixa.apiKey}:`)}`
const B2B_TRACKS = new Set([
  'Signed Up',
  'Account Created',
  'Account Deleted',
  'Account Added User',
  'Account Removed User',
])
const UNSUPPORTED_TYPES = new Set(['page', 'screen', 'alias'])
const KNOWN_TYPES = new Set(['identify', 'group', 'track', ...UNSUPPORTED_TYPES])

interface CalixaUser {
  userId: string
  traits: Record<string, unknown>
  accounts: string[]
}

interface CalixaAccount {
  groupId: string
  traits: Record<string, unknown>
  deleted: boolean
}

interface CalixaState {
  users: Map<string, CalixaUser>
  accounts: Map<string, CalixaAccount>
  /** Every message the webhook accepted, with the settings header it came with. */
  accepted: { message: Record<string, unknown>; settings: unknown }[]
}

function stateOf(c: CalixaContext): CalixaState {
  return c.env.tenant.stateOf<CalixaState>(PARTNER, () => ({
    users: new Map(),
    accounts: new Map(),
    accepted: [],
  }))
}

function nonEmptyId(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/** §0.3: optional `{"message": "..."}` on errors. */
function refuse(c: CalixaContext, status: ContentfulStatusCode, message: string): Response {
  return c.json({ message }, status)
}

/** `X-Segment-Settings`: base64 of a JSON object, or undefined when it is not one. */
function decodeSettings(header: string | undefined): Record<string, unknown> | undefined {
  if (header === undefined) return undefined
  try {
    const bytes = Uint8Array.from(atob(header), (char) => char.charCodeAt(0))
    const settings: unknown = JSON.parse(new TextDecoder().decode(bytes))
    return isPlainObject(settings) ? settings : undefined
  } catch {
    return undefined
  }
}

function userOf(state: CalixaState, userId: string): CalixaUser {
  let user = state.users.get(userId)
  if (!user) {
    user = { userId, traits: {}, accounts: [] }
    state.users.set(userId, user)
  }
  return user
}

function accountOf(state: CalixaState, groupId: string): CalixaAccount {
  let account = state.accounts.get(groupId)
  if (!account) {
    account = { groupId, traits: {}, deleted: false }
    state.accounts.set(groupId, account)
  }
  return account
}

function link(user: CalixaUser, groupId: string): void {
  if (!user.accounts.includes(groupId)) user.accounts.push(groupId)
}

/** Applies one supported message; returns a 400 message when it lacks what Calixa needs. */
function apply(state: CalixaState, message: Record<string, unknown>): string | undefined {
  const userId = nonEmptyId(message.userId)
  const traits = isPlainObject(message.traits) ? message.traits : {}
  const properties = isPlainObject(message.properties) ? message.properties : {}
  if (message.type === 'identify') {
    // §4.2: identify creates the user on first sight, then updates it.
    if (!userId) return 'identify requires userId'
    Object.assign(userOf(state, userId).traits, traits)
    return undefined
  }
  if (message.type === 'group') {
    // §4.2: group creates the account or associates the user with it.
    const groupId = nonEmptyId(message.groupId)
    if (!groupId) return 'group requires groupId'
    Object.assign(accountOf(state, groupId).traits, traits)
    if (userId) link(userOf(state, userId), groupId)
    return undefined
  }
  const event = String(message.event ?? '')
  if (!B2B_TRACKS.has(event)) return undefined // other tracks are accepted and ignored
  const groupId = nonEmptyId(isPlainObject(message.context) ? message.context.groupId : undefined)
  if (event === 'Signed Up') {
    if (!userId) return 'Signed Up requires userId'
    const user = userOf(state, userId)
    Object.assign(user.traits, properties)
    if (groupId) link(user, groupId)
    return undefined
  }
  if (!groupId) return `${event} requires context.groupId`
  const account = accountOf(state, groupId)
  if (event === 'Account Created' && typeof properties.account_name === 'string')
    account.traits.name = properties.account_name
  if (event === 'Account Deleted') account.deleted = true
  if (event === 'Account Added User' || event === 'Account Removed User') {
    if (!userId) return `${event} requires userId`
    const user = userOf(state, userId)
    if (event === 'Account Added User') link(user, groupId)
    else user.accounts = user.accounts.filter((id) => id !== groupId)
  }
  return undefined
}

export const calixaEmulator: PartnerApp = new Hono<{ Bindings: SandboxBindings }>()

calixaEmulator.post('/segment/webhook', async (c) => {
  if (c.req.header('authorization') !== EXPECTED_AUTHORIZATION) return refuse(c, 401, 'invalid api key')
  const settings = decodeSettings(c.req.header('x-segment-settings'))
  if (!settings) return refuse(c, 400, 'X-Segment-Settings must be base64-encoded JSON')
  if (!c.req.header('user-agent')?.startsWith('Segment'))
    return refuse(c, 403, 'requests must come from Segment')
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json'))
    return refuse(c, 400, 'Content-Type must be application/json')
  let message: unknown
  try {
    message = JSON.parse(await c.req.text())
  } catch {
    return refuse(c, 400, 'body is not valid JSON')
  }
  if (!isPlainObject(message) || typeof message.type !== 'string' || !KNOWN_TYPES.has(message.type))
    return refuse(c, 400, 'body must be a Segment message with a type')
  if (typeof message.messageId !== 'string' || message.messageId === '')
    return refuse(c, 400, 'messageId is required')
  if (UNSUPPORTED_TYPES.has(message.type)) return refuse(c, 501, `${message.type} calls are not supported`)
  if (message.type === 'track' && (typeof message.event !== 'string' || message.event === ''))
    return refuse(c, 400, 'track requires event')
  const state = stateOf(c)
  const problem = apply(state, message)
  if (problem) return refuse(c, 400, problem)
  state.accepted.push({ message, settings })
  return c.json({ message: 'ok' })
})

calixaEmulator.post('/__control/state', (c) => {
  const state = stateOf(c)
  return c.json({
    users: Object.fromEntries(state.users),
    accounts: Object.fromEntries(state.accounts),
    accepted: state.accepted,
  })
})

calixaEmulator.notFound((c) => refuse(c, 404, 'not found'))
