import type { Bindings } from '../env'
import { positiveNumberFromEnv } from '../lib/env-number'

/**
 * Workers cap the subrequests of one invocation (peers-and-platform.md §3.3: 50 on
 * Free; on Paid 1,000 in one version of Cloudflare's docs, 10,000 in the current
 * limits page). Past the cap every fetch and KV call throws, which would look like
 * a failing partner (and open its circuit). A consumer batch can hold thousands
 * of events, so the consumer spends from a budget instead, leaving room for its
 * own ledger, KV and queue calls; pairs left over are retried in a later invocation.
 */
export class SubrequestBudget {
  #remaining: number

  constructor(limit: number) {
    this.#remaining = limit
  }

  /** Takes one subrequest; false when the invocation has none left. */
  take(): boolean {
    if (this.#remaining <= 0) return false
    this.#remaining -= 1
    return true
  }
}

/** The current limits page's 10,000 for Paid, less room for the consumer's own calls. */
const DEFAULT_SUBREQUEST_BUDGET = 9_000

/** A fresh budget for one consumer invocation: SUBREQUEST_BUDGET, else the default. */
export function subrequestBudget(env: Bindings): SubrequestBudget {
  return new SubrequestBudget(
    positiveNumberFromEnv(env.SUBREQUEST_BUDGET, DEFAULT_SUBREQUEST_BUDGET, { integer: true }),
  )
}

/** Why a partner call or state read was not made: the budget of this invocation is spent. */
export const BUDGET_SPENT = 'subrequest budget of this invocation spent; sent again in a later one'
