import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type * as v from 'valibot'

/** One problem found in client input, located by a dotted path ('' = the whole document). */
export interface InputIssue {
  path: string
  message: string
}

/**
 * The one error type the router throws for client-facing failures. It knows its
 * status and renders the same JSON body everywhere: `{ success: false, error, message, issues? }`.
 */
export class RouterError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: InputIssue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }

  toResponse(): Response {
    const body = {
      success: false,
      error: this.code,
      message: this.message,
      ...(this.issues && { issues: this.issues }),
    }
    return Response.json(body, { status: this.status, headers: this.headers })
  }
}

/**
 * The name of the key an issue says is absent, else undefined. valibot v1 reports
 * an absent required key as an issue of the object schema itself (`expected` is
 * the quoted key, `received` 'undefined'), at a path ending with that key.
 */
function missingKeyOf(issue: v.BaseIssue<unknown>): string | undefined {
  const last = issue.path?.at(-1)
  const absent =
    issue.kind === 'schema' &&
    last?.origin === 'key' &&
    issue.received === 'undefined' &&
    issue.expected === `"${String(last.key)}"`
  return absent ? String(last.key) : undefined
}

/** Renders valibot issues as `{ path, message }`, paths dotted from the root (e.g. `batch.3.event`). */
export function toInputIssues(issues: readonly v.BaseIssue<unknown>[], prefix = ''): InputIssue[] {
  return issues.map((issue) => {
    const keys = (issue.path ?? []).map((item) => String(item.key))
    const path = [prefix, ...keys].filter((part) => part !== '').join('.')
    return { path, message: clientMessage(issue) }
  })
}

/**
 * An absent key reads "<key> is required", whichever schema declares it. It keeps a
 * message its schema chose ("event is required on track"), not valibot's default
 * ("Invalid key: Expected …"), which no client should have to read.
 */
function clientMessage(issue: v.BaseIssue<unknown>): string {
  const key = missingKeyOf(issue)
  const isDefault = issue.message === `Invalid key: Expected ${issue.expected} but received ${issue.received}`
  return key !== undefined && isDefault ? `${key} is required` : issue.message
}

/** Hono `onError`: RouterErrors become their response; anything else is our fault (500), logged without input data. */
export function renderError(error: Error, c: Context): Response {
  if (error instanceof RouterError) return error.toResponse()
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled', path: c.req.path, error: error.message }))
  return Response.json(
    { success: false, error: 'internal_error', message: 'internal error' },
    { status: 500 },
  )
}
