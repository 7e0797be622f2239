import { env } from 'cloudflare:workers'

/** Which ledger calls fail: by shard method (`claim`, `record`, …) and shard name (`shard-2`). */
export type FaultRule = (method: string, shard: string) => boolean

/** The error a failing shard call throws, as a Durable Object whose storage is full or unreachable does. */
export const INJECTED_FAULT = 'SQLITE_FULL: database or disk is full (injected)'

/**
 * The real LEDGER namespace, whose shard calls throw while `rule` says so.
 * The shards themselves are untouched: this is the platform failing between
 * the Worker and its Durable Objects. `failed` lists every call that failed.
 */
export function faultyLedger(rule: FaultRule): { namespace: typeof env.LEDGER; failed: string[] } {
  return faultyNamespace(env.LEDGER, rule)
}

/** Any Durable Object namespace (the destination gates, the operations log) failing the same way. */
// biome-ignore lint/suspicious/noExplicitAny: any Durable Object class; the proxy only forwards calls.
export function faultyNamespace<N extends DurableObjectNamespace<any>>(
  real: N,
  rule: FaultRule,
): { namespace: N; failed: string[] } {
  const failed: string[] = []
  const names = new Map<string, string>()
  // Typed loosely inside: the generic stub type is too deep for the compiler to follow.
  const untyped = real as DurableObjectNamespace
  const namespace = new Proxy(untyped, {
    get(target, property) {
      const value = Reflect.get(target, property)
      if (property === 'idFromName')
        return (name: string) => {
          const id = target.idFromName(name)
          names.set(id.toString(), name)
          return id
        }
      if (property !== 'get') return typeof value === 'function' ? value.bind(target) : value
      return (id: DurableObjectId) => {
        const stub = target.get(id)
        const shard = names.get(id.toString()) ?? id.toString()
        return new Proxy(stub, {
          get(stubTarget, method) {
            const call = Reflect.get(stubTarget, method)
            if (typeof call !== 'function' || typeof method !== 'string') return call
            return (...args: unknown[]) => {
              if (rule(method, shard)) {
                failed.push(`${shard}.${method}`)
                return Promise.reject(new Error(INJECTED_FAULT))
              }
              // Called on the stub itself: an RPC method taken off a stub does not keep its target.
              const methods = stubTarget as unknown as Record<
                string,
                (...rest: unknown[]) => Promise<unknown>
              >
              return methods[method]?.(...args)
            }
          },
        })
      }
    },
  }) as unknown as N
  return { namespace, failed }
}
