import type { Hono } from 'hono'

/** One request a partner emulator received, as the test and the dashboard see it. */
export interface RecordedRequest {
  partner: string
  method: string
  /** Path inside the partner's API (tenant and partner prefix removed), with the query string. */
  path: string
  headers: Record<string, string>
  body: unknown
  status: number
  at: number
}

/** A fault injected into the next `remaining` requests to one partner (Infinity = until cleared). */
export interface Fault {
  mode: 'status' | 'hang'
  status?: number
  body?: unknown
  retryAfter?: string
  remaining: number
}

/**
 * Everything one tenant of the sandbox holds. Tests use a fresh tenant each
 * (a path prefix), so suites running in parallel never see each other's state.
 */
export class Tenant {
  readonly requests: RecordedRequest[] = []
  readonly faults = new Map<string, Fault>()
  /** Partner-specific state, keyed by partner name; each emulator owns its slot. */
  readonly partnerState = new Map<string, unknown>()

  stateOf<T>(partner: string, create: () => T): T {
    let state = this.partnerState.get(partner) as T | undefined
    if (state === undefined) {
      state = create()
      this.partnerState.set(partner, state)
    }
    return state
  }
}

/** Emulators receive their tenant as a binding: `c.env.tenant`. */
export interface SandboxBindings {
  tenant: Tenant
}

export type PartnerApp = Hono<{ Bindings: SandboxBindings }>

const tenants = new Map<string, Tenant>()

export function tenantNamed(name: string): Tenant {
  let tenant = tenants.get(name)
  if (!tenant) {
    tenant = new Tenant()
    tenants.set(name, tenant)
  }
  return tenant
}

function recordHeaders(headers: Headers): Record<string, string> {
  const recorded: Record<string, string> = {}
  headers.forEach((value, key) => {
    recorded[key] = value
  })
  return recorded
}

async function readBody(request: Request): Promise<unknown> {
  const text = await request.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Hands one request to a partner emulator: records it with the status it got,
 * and applies an injected fault instead when one is pending. `request` already
 * carries the partner's own path (prefixes removed).
 */
export async function dispatchToPartner(
  partner: string,
  emulator: PartnerApp,
  tenant: Tenant,
  request: Request,
): Promise<Response> {
  const url = new URL(request.url)
  const record: RecordedRequest = {
    partner,
    method: request.method,
    path: url.pathname + url.search,
    headers: recordHeaders(request.headers),
    body: await readBody(request.clone()),
    status: 0,
    at: Date.now(),
  }
  tenant.requests.push(record)
  const fault = tenant.faults.get(partner)
  if (fault && fault.remaining > 0) {
    fault.remaining -= 1
    // A hang never answers: the router's own timeout must end the request.
    if (fault.mode === 'hang') return new Promise<Response>(() => {})
    record.status = fault.status ?? 500
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (fault.retryAfter) headers['retry-after'] = fault.retryAfter
    return new Response(JSON.stringify(fault.body ?? { error: 'injected fault' }), {
      status: record.status,
      headers,
    })
  }
  const response = await emulator.fetch(request, { tenant })
  record.status = response.status
  return response
}
