import type { DeliveryOutcome, PartnerResponse } from './types'

/** Statuses Segment's engine retries besides 5xx (501 excluded): timeouts, locks, rate limits. */
const RETRYABLE_4XX = new Set([408, 423, 429])

/** Seconds from a `Retry-After` header: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed))
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - now) / 1000))
}

/** A short, secret-free summary of a partner body for the ledger (at most 300 characters). */
export function summarize(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '')
  return text.length > 300 ? `${text.slice(0, 297)}...` : text
}

export interface ClassifyOptions {
  /** The partner's own error reason (e.g. Crisp `reason`, Crossing Minds `error_name`). */
  partnerReason?: string
  /** The partner's own retry hint in seconds, used when there is no Retry-After header. */
  retryAfterSeconds?: number
  now: number
}

/**
 * Classifies a partner response the way Segment's engine does: 2xx delivered;
 * network error / timeout (status 0), 408, 423, 429 and 5xx except 501 retried;
 * any other status is permanent and keeps the partner's reason.
 */
export function classifyResponse(response: PartnerResponse, options: ClassifyOptions): DeliveryOutcome {
  const { status } = response
  const summary = summarize(response.body)
  if (status >= 200 && status < 300) return { status: 'delivered', partnerStatus: status }
  if (status === 0 || RETRYABLE_4XX.has(status) || (status >= 500 && status !== 501)) {
    const retryAfterSeconds =
      parseRetryAfter(response.headers.get('retry-after'), options.now) ?? options.retryAfterSeconds
    return {
      status: 'retry',
      error: status === 0 ? 'network_error' : (options.partnerReason ?? `http_${status}`),
      summary,
      ...(status !== 0 && { partnerStatus: status }),
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
    }
  }
  return {
    status: 'failed',
    reason: options.partnerReason ?? `http_${status}`,
    partnerStatus: status,
    summary,
  }
}
