/**
 * The Crossing Minds API client: error envelope → outcome, and the service-account
 * session (JWT + refresh token) shared by every delivery of one isolate
 * (partners.md §1.3, §1.6).
 */

import { sha256Hex } from '../../lib/hex'
import { IsolateCache } from '../../lib/isolate-cache'
import { isPlainObject } from '../../lib/objects'
import { classifyResponse } from '../classify'
import type { CallResult, DeliveryContext, DeliveryOutcome, PartnerRequest, PartnerResponse } from '../types'
import type { IdTypes } from './ids'
import { loginRequest, refreshRequest } from './requests'
import type { CrossingMindsSettings } from './settings'

type Context = DeliveryContext<CrossingMindsSettings>

/** Error codes of the partner's envelope (Python `exceptions.py`, .NET `ErrorCode.cs`). */
export const CROSSING_MINDS_ERROR = {
  tooManyRequests: 2,
  authError: 21,
  jwtTokenExpired: 22,
  refreshTokenExpired: 28,
  wrongData: 40,
  duplicated: 42,
} as const

export interface CrossingMindsError {
  code?: number
  name?: string
  /** `error_data.retry_after` (seconds) on 429 code 2. */
  retryAfterSeconds?: number
}

function numberOf(value: unknown): number | undefined {
  // The Node client's fixtures carry `error_code` as a string ("22"), the TS client as a number.
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined
}

/** Reads `{"error_code", "error_name", "message", "error_data"}`; anything else gives `{}`. */
export function parseCrossingMindsError(body: unknown): CrossingMindsError {
  if (!isPlainObject(body)) return {}
  const code = numberOf(body.error_code)
  const retryAfter = isPlainObject(body.error_data) ? numberOf(body.error_data.retry_after) : undefined
  return {
    ...(code !== undefined && { code }),
    ...(typeof body.error_name === 'string' && { name: body.error_name }),
    ...(retryAfter !== undefined && retryAfter >= 0 && { retryAfterSeconds: Math.ceil(retryAfter) }),
  }
}

/** Partner response → outcome, keeping `error_name` as the reason and `retry_after` as the hint. */
export function classifyCrossingMindsResponse(response: PartnerResponse, now: number): DeliveryOutcome {
  const error = parseCrossingMindsError(response.body)
  return classifyResponse(response, {
    now,
    ...(error.name !== undefined && { partnerReason: error.name }),
    ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
  })
}

// ---------------------------------------------------------------- session

export interface CrossingMindsSession {
  token: string
  refreshToken: string
  /** ms; a margin before the JWT's real expiry. */
  tokenExpiresAt: number
  /** ms; when the refresh token is assumed dead. */
  refreshExpiresAt: number
  idTypes: IdTypes
}

export type SessionResult = CallResult<{ session: CrossingMindsSession }>

/**
 * The official TS client assumes a JWT lives ~29 minutes and a refresh token ~29 days
 * (`getExpectedExpiration.ts`). UNCONFIRMED as official numbers: used only when the
 * JWT carries no readable `exp`; error code 22 is always honoured.
 */
const ASSUMED_JWT_LIFETIME_MS = 29 * 60_000
const ASSUMED_REFRESH_LIFETIME_MS = 29 * 24 * 3_600_000
/** Renew this long before expiry so a request does not race the deadline. */
const EXPIRY_MARGIN_MS = 60_000

/**
 * How long a JWT lives, in ms: `exp - iat` when both claims are readable (immune to
 * clock skew between us and the partner), else `exp` minus our clock, else unknown.
 */
export function jwtLifetimeMs(token: string, now: number): number | undefined {
  const payload = token.split('.')[1]
  if (!payload) return undefined
  try {
    const base64 = payload.replaceAll('-', '+').replaceAll('_', '/')
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))
    const claims: unknown = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))),
    )
    if (!isPlainObject(claims) || typeof claims.exp !== 'number') return undefined
    return typeof claims.iat === 'number' ? (claims.exp - claims.iat) * 1000 : claims.exp * 1000 - now
  } catch {
    return undefined
  }
}

/**
 * When to stop using a JWT (our clock): a margin before its end, at most a quarter
 * of its lifetime so a short-lived token is still used instead of renewed on every call.
 */
function renewalTime(lifetimeMs: number, now: number): number {
  return now + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, Math.max(0, lifetimeMs) / 4)
}

function idTypesOf(body: Record<string, unknown>, previous: IdTypes | undefined): IdTypes {
  const database = isPlainObject(body.database) ? body.database : {}
  const typeOf = (key: string, fallback: string) =>
    typeof database[key] === 'string' ? database[key] : fallback
  return {
    user: typeOf('user_id_type', previous?.user ?? ''),
    item: typeOf('item_id_type', previous?.item ?? ''),
    session: typeOf('session_id_type', previous?.session ?? ''),
  }
}

/**
 * One service account's session within this isolate. Memory first, then KV (other
 * isolates' logins), then refresh, then login; concurrent callers share one
 * in-flight renewal, so a burst of deliveries costs one login.
 */
export class SessionKeeper {
  #session: CrossingMindsSession | undefined
  #pending: Promise<SessionResult> | undefined

  constructor(readonly stateKey: string) {}

  /** A session whose JWT is not known to be expired. */
  async current(context: Context): Promise<SessionResult> {
    if (this.#session && context.now() < this.#session.tokenExpiresAt)
      return { ok: true, session: this.#session }
    return this.#once(async () => {
      const stored = await context.state.get<CrossingMindsSession>(this.stateKey)
      if (stored && context.now() < stored.tokenExpiresAt) return this.#adopt(stored)
      return this.#renew(context, this.#session ?? stored, true)
    })
  }

  /**
   * The partner refused `rejectedToken`: code 22 (expired) → refresh, code 21
   * (not a valid token) → log in again. Someone else may already have renewed it.
   */
  async afterRejection(context: Context, rejectedToken: string, code: number): Promise<SessionResult> {
    if (this.#pending) {
      const result = await this.#pending
      if (!result.ok || result.session.token !== rejectedToken) return result
    }
    if (
      this.#session &&
      this.#session.token !== rejectedToken &&
      context.now() < this.#session.tokenExpiresAt
    )
      return { ok: true, session: this.#session }
    return this.#once(async () => {
      const stored = await context.state.get<CrossingMindsSession>(this.stateKey)
      if (stored && stored.token !== rejectedToken && context.now() < stored.tokenExpiresAt)
        return this.#adopt(stored)
      return this.#renew(context, this.#session ?? stored, code === CROSSING_MINDS_ERROR.jwtTokenExpired)
    })
  }

  #once(task: () => Promise<SessionResult>): Promise<SessionResult> {
    this.#pending ??= task().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  #adopt(session: CrossingMindsSession): SessionResult {
    this.#session = session
    return { ok: true, session }
  }

  async #renew(
    context: Context,
    known: CrossingMindsSession | undefined,
    mayRefresh: boolean,
  ): Promise<SessionResult> {
    if (mayRefresh && known && context.now() < known.refreshExpiresAt) {
      const refreshed = await this.#obtain(
        context,
        refreshRequest(known.refreshToken, context.settings),
        known,
      )
      // Any 401 on refresh (code 28 expired, 21 unknown token) means: log in with the password.
      if (refreshed.result.ok || refreshed.status !== 401) return refreshed.result
    }
    return (await this.#obtain(context, loginRequest(context.settings), known)).result
  }

  async #obtain(
    context: Context,
    request: PartnerRequest,
    previous: CrossingMindsSession | undefined,
  ): Promise<{ status: number; result: SessionResult }> {
    const response = await context.send(request)
    const body = response.body
    const now = context.now()
    if (response.status < 200 || response.status >= 300)
      return {
        status: response.status,
        result: { ok: false, outcome: classifyCrossingMindsResponse(response, now) },
      }
    if (!isPlainObject(body) || typeof body.token !== 'string' || typeof body.refresh_token !== 'string')
      return {
        status: response.status,
        result: { ok: false, outcome: { status: 'retry', error: 'login_response_without_token' } },
      }
    const session: CrossingMindsSession = {
      token: body.token,
      refreshToken: body.refresh_token,
      tokenExpiresAt: renewalTime(jwtLifetimeMs(body.token, now) ?? ASSUMED_JWT_LIFETIME_MS, now),
      refreshExpiresAt: now + ASSUMED_REFRESH_LIFETIME_MS - EXPIRY_MARGIN_MS,
      idTypes: idTypesOf(body, previous?.idTypes),
    }
    // KV keeps the refresh token for other isolates as long as it may live (KV's minimum TTL is 60 s).
    const ttlSeconds = Math.max(60, Math.ceil((session.refreshExpiresAt - now) / 1000))
    await context.state.put(this.stateKey, session, { expirationTtl: ttlSeconds })
    return { status: response.status, result: this.#adopt(session) }
  }
}

/** One keeper per database, so a burst of deliveries in this isolate shares one login (lib/isolate-cache.ts). */
const keepers = new IsolateCache<string, SessionKeeper>()

/**
 * KV/memory key of one database as reached through one origin (the password is
 * not part of it). State is already namespaced per destination and source.
 */
export async function databaseKey(context: Context): Promise<string> {
  // The first 12 bytes (24 hex digits) of the digest: short keys, collisions still out of reach.
  return (
    await sha256Hex(`${context.apiBase}\n${context.settings.apiDatabaseId}\n${context.settings.apiKey}`)
  ).slice(0, 24)
}

export async function sessionKeeperFor(context: Context): Promise<SessionKeeper> {
  const key = `session:${await databaseKey(context)}`
  let keeper = keepers.get(key)
  if (!keeper) {
    keeper = new SessionKeeper(key)
    keepers.set(key, keeper)
  }
  return keeper
}

/** Sends with `Authorization: Bearer <jwt>`; on a refused JWT renews once and resends. */
export async function sendAuthorized(
  context: Context,
  keeper: SessionKeeper,
  request: PartnerRequest,
): Promise<CallResult<{ response: PartnerResponse }>> {
  const first = await keeper.current(context)
  if (!first.ok) return first
  const withToken = (token: string): PartnerRequest => ({
    ...request,
    headers: { ...request.headers, authorization: `Bearer ${token}` },
  })
  const response = await context.send(withToken(first.session.token))
  if (response.status !== 401) return { ok: true, response }
  const { code } = parseCrossingMindsError(response.body)
  if (code !== CROSSING_MINDS_ERROR.jwtTokenExpired && code !== CROSSING_MINDS_ERROR.authError)
    return { ok: true, response }
  const renewed = await keeper.afterRejection(context, first.session.token, code)
  if (!renewed.ok) return renewed
  return { ok: true, response: await context.send(withToken(renewed.session.token)) }
}
