import { type AlertTarget, targetLabel } from '../../config/alerts'
import { hmacSha256Hex } from '../../lib/crypto'
import type { AlertRecord, AlertStatus, TargetResult } from './types'

/** One target gets this long to answer; a slow receiver costs the cron run no more. */
export const ALERT_TIMEOUT_MS = 5_000

/** Headers of a webhook target's request (README "Alerts" describes the scheme). */
export const SIGNATURE_HEADER = 'X-Router-Signature'
export const TIMESTAMP_HEADER = 'X-Router-Timestamp'

/** The generic webhook's JSON body. */
export function webhookBody(alert: AlertRecord, now: number): Record<string, unknown> {
  return {
    type: `alert.${alert.event}`,
    id: alert.id,
    incident: alert.incidentKey,
    kind: alert.kind,
    title: alert.title,
    detail: alert.detail,
    createdAt: alert.createdAt,
    sentAt: now,
  }
}

const SLACK_MARK: Record<AlertRecord['event'], string> = {
  opened: ':rotating_light: *Alert*',
  resolved: ':white_check_mark: *Recovered*',
  summary: ':warning: *Alerts held back*',
}

/** Slack incoming-webhook JSON: `text` (notifications, old clients) and the same as one section block. */
export function slackBody(alert: AlertRecord): { text: string; blocks: unknown[] } {
  const lines = [`${SLACK_MARK[alert.event]} ${escapeSlack(alert.title)}`]
  if (alert.detail) lines.push(escapeSlack(alert.detail))
  if (alert.incidentKey) lines.push(`\`${escapeSlack(alert.incidentKey)}\``)
  const text = lines.join('\n')
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }
}

/** Slack reads `&`, `<` and `>` as markup (links, mentions); names from the config must not become one. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** `X-Router-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, timestamp in Unix seconds. */
export async function signatureHeaders(
  secret: string,
  body: string,
  now: number,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000))
  const signature = await hmacSha256Hex(secret, `${timestamp}.${body}`)
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${signature}` }
}

async function requestFor(target: AlertTarget, alert: AlertRecord, now: number): Promise<RequestInit> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (target.kind === 'slack') return { method: 'POST', headers, body: JSON.stringify(slackBody(alert)) }
  const body = JSON.stringify(webhookBody(alert, now))
  return {
    method: 'POST',
    headers: { ...headers, ...(await signatureHeaders(target.secret, body, now)) },
    body,
  }
}

/**
 * Sends one alert to every target at once. Never throws: each target's answer
 * (status) or failure (error name, never its URL) is the result.
 */
export async function sendToTargets(
  alert: AlertRecord,
  targets: readonly AlertTarget[],
  now: number,
  timeoutMs = ALERT_TIMEOUT_MS,
): Promise<{ status: AlertStatus; results: TargetResult[] }> {
  if (targets.length === 0) return { status: 'no_targets', results: [] }
  const results = await Promise.all(
    targets.map(async (target, index): Promise<TargetResult> => {
      const named = { target: targetLabel(target, index), kind: target.kind }
      try {
        const response = await fetch(target.url, {
          ...(await requestFor(target, alert, now)),
          signal: AbortSignal.timeout(timeoutMs),
        })
        // The body is not needed; reading it frees the connection.
        await response.body?.cancel()
        return { ...named, status: response.status }
      } catch (error) {
        return { ...named, error: describeError(error) }
      }
    }),
  )
  const delivered = results.every(
    (result) => result.status !== undefined && result.status >= 200 && result.status < 300,
  )
  return { status: delivered ? 'sent' : 'failed', results }
}

/** An error's name (`TimeoutError`, `TypeError`): its message may quote the URL, which may hold a token. */
function describeError(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? 'request failed' : error.name
  return 'request failed'
}
