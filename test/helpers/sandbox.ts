import { inject } from 'vitest'
import type { ReceivedAlert } from '../../sandbox/alerts'
import type { RecordedRequest } from '../../sandbox/core'
import type { SandboxPartner } from '../../sandbox/partners'

export type { ReceivedAlert, RecordedRequest, SandboxPartner }

/** What a fault can be injected into: a partner, or the alert receiver. */
export type SandboxFaultTarget = SandboxPartner | 'alerts'

export interface FaultOptions {
  mode?: 'status' | 'hang'
  status?: number
  body?: unknown
  retryAfter?: string
  /** How many requests fail; omitted = until cleared. */
  count?: number
}

/**
 * A private tenant of the partner sandbox for one test: its own partner state,
 * recordings and faults, so test files running in parallel never interfere.
 */
export class SandboxTenant {
  readonly name = `t${crypto.randomUUID().replaceAll('-', '')}`
  readonly url = inject('sandboxUrl')

  /** The `apiBase` to configure for a destination so it talks to this tenant's emulator. */
  apiBase(partner: SandboxPartner): string {
    return `${this.url}/t/${this.name}/${partner}`
  }

  async requests(partner?: SandboxFaultTarget): Promise<RecordedRequest[]> {
    const query = partner ? `?partner=${partner}` : ''
    const response = await fetch(`${this.url}/__sandbox/t/${this.name}/requests${query}`)
    return (await response.json()) as RecordedRequest[]
  }

  /**
   * How many accepted (2xx) partner requests carried each of these ids, per
   * partner, as `"<partner> <id>"` → count. A bulk request counts once for each
   * id it holds, so "every event exactly once" is every count equal to 1.
   */
  async acceptedCounts(ids: readonly string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {}
    for (const request of await this.requests()) {
      if (request.status < 200 || request.status >= 300) continue
      const text = JSON.stringify(request.body)
      for (const id of ids) {
        if (!text.includes(JSON.stringify(id))) continue
        const key = `${request.partner} ${id}`
        counts[key] = (counts[key] ?? 0) + 1
      }
    }
    return counts
  }

  /** A URL of this tenant's alert receiver; `path` tells targets apart (`/ops`, `/slack`). */
  alertUrl(path: string): string {
    return `${this.url}/t/${this.name}/alerts${path}`
  }

  /** What the alert receiver got, oldest first, each body as its exact text. */
  async receivedAlerts(path?: string): Promise<ReceivedAlert[]> {
    const response = await fetch(`${this.url}/__sandbox/t/${this.name}/alerts/received`, { method: 'POST' })
    const received = (await response.json()) as ReceivedAlert[]
    return path === undefined ? received : received.filter((alert) => alert.path === path)
  }

  async fault(partner: SandboxFaultTarget, options: FaultOptions): Promise<void> {
    const response = await fetch(`${this.url}/__sandbox/t/${this.name}/faults`, {
      method: 'POST',
      body: JSON.stringify({ partner, ...options }),
    })
    if (!response.ok) throw new Error(`sandbox refused the fault: ${await response.text()}`)
  }

  async clearFaults(partner?: SandboxFaultTarget): Promise<void> {
    await fetch(`${this.url}/__sandbox/t/${this.name}/faults${partner ? `?partner=${partner}` : ''}`, {
      method: 'DELETE',
    })
  }

  /** Calls a partner-specific control route, e.g. `control('crossingminds', 'expire-tokens')`. */
  async control(partner: SandboxPartner, action: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}/__sandbox/t/${this.name}/${partner}/${action}`, {
      method: 'POST',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
  }
}
