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

/** Renders valibot issues as `{ path, message }`, paths dotted from the root (e.g. `batch.3.event`). */
export function toInputIssues(issues: readonly v.BaseIssue<unknown>[], prefix = ''): InputIssue[] {
  return issues.map((issue) => {
    const keys = (issue.path ?? []).map((item) => String(item.key))
    const path = [prefix, ...keys].filter((part) => part !== '').join('.')
    return { path, message: issue.message }
  })
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
