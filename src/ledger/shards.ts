import type { Bindings } from '../env'
import { positiveNumberFromEnv } from '../lib/env-number'
import type { LedgerShard } from './shard'
import type { EventKey } from './types'

const DEFAULT_SHARDS = 16
const utf8 = new TextEncoder()

/** FNV-1a over the UTF-8 bytes of `source \0 messageId`: stable across releases (docs/capacity.md). */
function keyHash(key: EventKey): number {
  let hash = 0x811c9dc5
  for (const byte of utf8.encode(`${key.source}\u0000${key.messageId}`)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * Jump consistent hash (Lamping & Veach): raising the shard count from n to m
 * moves a key only to one of the new shards n…m-1, never between old ones.
 */
function jumpHash(hash: number, buckets: number): number {
  let key = BigInt(hash)
  let bucket = -1
  let next = 0
  while (next < buckets) {
    bucket = next
    key = (key * 2862933555777941757n + 1n) & 0xffffffffffffffffn
    next = Math.floor(((bucket + 1) * 2 ** 31) / (Number(key >> 33n) + 1))
  }
  return bucket
}

/**
 * The ledger's shards as the Worker reaches them. An event lives on one shard,
 * picked by a stable hash of (source, messageId). After the count is raised
 * (LEDGER_SHARDS, with LEDGER_SHARDS_PREVIOUS set to the old count), an event
 * first written before stays where it is: each key whose shard changed is first
 * looked for on its previous shard. Reads of everything span every shard.
 */
export class LedgerShards {
  readonly count: number
  readonly #previous: number | undefined
  readonly #namespace: DurableObjectNamespace<LedgerShard>
  /** Where each key was found to live, for the life of this object (one consumer invocation or request). */
  readonly #located = new Map<string, number>()

  constructor(env: Pick<Bindings, 'LEDGER' | 'LEDGER_SHARDS' | 'LEDGER_SHARDS_PREVIOUS'>) {
    this.count = positiveNumberFromEnv(env.LEDGER_SHARDS, DEFAULT_SHARDS, { integer: true })
    const previous = positiveNumberFromEnv(env.LEDGER_SHARDS_PREVIOUS, this.count, { integer: true })
    this.#previous = previous < this.count ? previous : undefined
    this.#namespace = env.LEDGER
  }

  stub(index: number): DurableObjectStub<LedgerShard> {
    return this.#namespace.get(this.#namespace.idFromName(`shard-${index}`))
  }

  /** Every shard index, for reads that span the ledger. */
  all(): number[] {
    return Array.from({ length: this.count }, (_, index) => index)
  }

  /** Groups keys by the shard each lives on (one call per shard per step). */
  async group<K extends EventKey>(keys: readonly K[]): Promise<Map<number, K[]>> {
    await this.locateMoved(keys)
    const groups = new Map<number, K[]>()
    for (const key of keys) {
      const index = this.#located.get(keyId(key)) ?? jumpHash(keyHash(key), this.count)
      const group = groups.get(index)
      if (group) group.push(key)
      else groups.set(index, [key])
    }
    return groups
  }

  /** Keys whose shard changed with the last raise: asks their previous shards which they hold. */
  private async locateMoved(keys: readonly EventKey[]): Promise<void> {
    const previous = this.#previous
    if (previous === undefined) return
    const moved = new Map<number, EventKey[]>()
    for (const key of keys) {
      if (this.#located.has(keyId(key))) continue
      const hash = keyHash(key)
      const before = jumpHash(hash, previous)
      if (before === jumpHash(hash, this.count)) continue
      moved.set(before, [...(moved.get(before) ?? []), key])
    }
    await Promise.all(
      [...moved].map(async ([index, group]) => {
        const held = await this.stub(index).holds(group)
        group.forEach((key, position) => {
          this.#located.set(keyId(key), held[position] ? index : jumpHash(keyHash(key), this.count))
        })
      }),
    )
  }
}

export function keyId(key: EventKey): string {
  return `${key.source}\u0000${key.messageId}`
}
