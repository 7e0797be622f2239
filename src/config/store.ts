import type { Bindings } from '../env'
import { systemClock } from '../lib/clock'
import { secretBytesEqual } from '../lib/crypto'
import { positiveNumberFromEnv } from '../lib/env-number'
import { IsolateCache } from '../lib/isolate-cache'
import { memoizeByObject } from '../lib/memo'
import { type RouterConfig, type SourceConfig, validateConfig } from './schema'

/** KV key of the config document in the CONFIG namespace (docs/storage.md). */
export const CONFIG_KEY = 'config:v1'

const EMPTY: RouterConfig = { sources: [] }

interface CachedConfig {
  raw: unknown
  config: RouterConfig
  loadedAt: number
}

/** Per-isolate cache: a PUT in this isolate replaces it at once, other isolates see it within CONFIG_CACHE_SECONDS. */
const cache = new IsolateCache<typeof CONFIG_KEY, CachedConfig>(1)

/** 0 turns the cache off (every read goes to KV). */
function cacheMs(env: Bindings): number {
  return positiveNumberFromEnv(env.CONFIG_CACHE_SECONDS, 5, { allowZero: true }) * 1000
}

async function loadCached(env: Bindings): Promise<CachedConfig> {
  const now = systemClock.now()
  const cached = cache.get(CONFIG_KEY)
  if (cached && now - cached.loadedAt < cacheMs(env)) return cached
  const raw = await env.CONFIG.get(CONFIG_KEY, 'json')
  // The stored document was validated on PUT; re-validating guards against hand edits in KV.
  const result = raw === null ? undefined : validateConfig(raw)
  if (result && !result.ok) {
    console.error(
      JSON.stringify({ level: 'error', msg: 'stored config is invalid', count: result.issues.length }),
    )
  }
  const loaded = { raw: raw ?? EMPTY, config: result?.ok ? result.config : EMPTY, loadedAt: now }
  cache.set(CONFIG_KEY, loaded)
  return loaded
}

export async function loadConfig(env: Bindings): Promise<RouterConfig> {
  return (await loadCached(env)).config
}

/** The document as stored (with secrets), for redaction and for keeping redacted secrets on PUT. */
export async function loadRawConfig(env: Bindings): Promise<unknown> {
  return (await loadCached(env)).raw
}

export async function saveConfig(env: Bindings, raw: unknown, config: RouterConfig): Promise<void> {
  await env.CONFIG.put(CONFIG_KEY, JSON.stringify(raw))
  cache.set(CONFIG_KEY, { raw, config, loadedAt: systemClock.now() })
}

const encoder = new TextEncoder()

/** Each source's write key as bytes, encoded once per loaded config instead of on every request. */
const encodedWriteKeys = memoizeByObject((config: RouterConfig) =>
  config.sources.map((source) => ({ source, key: encoder.encode(source.writeKey) })),
)

/** Finds the source a write key belongs to, comparing every key in constant time. */
export function findSourceByWriteKey(config: RouterConfig, writeKey: string): SourceConfig | undefined {
  const given = encoder.encode(writeKey)
  let found: SourceConfig | undefined
  for (const { source, key } of encodedWriteKeys(config)) {
    if (secretBytesEqual(given, key) && !found) found = source
  }
  return found
}

export function findSourceByName(config: RouterConfig, name: string): SourceConfig | undefined {
  return config.sources.find((source) => source.name === name)
}
