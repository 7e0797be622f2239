/**
 * Bounded loopback load with autocannon: a fixed duration and number of
 * connections, 127.0.0.1 only, with the worker process's CPU read around it.
 */
import autocannon from 'autocannon'
import { cpuMs } from './procs'

export interface LoadSpec {
  url: string
  connections: number
  durationSeconds: number
  /** Request bodies, cycled through per connection. */
  bodies: string[]
  headers: Record<string, string>
  eventsPerRequest: number
  workerPid: number
}

export async function runLoad(spec: LoadSpec) {
  const { hostname, pathname } = new URL(spec.url)
  if (hostname !== '127.0.0.1') throw new Error(`refusing to load a non-loopback address: ${spec.url}`)
  const before = cpuMs(spec.workerPid)
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: 10,
    requests: spec.bodies.map((body) => ({ method: 'POST', path: pathname, headers: spec.headers, body })),
  })
  const requests = result.requests.total
  return {
    eventsPerSecond: (requests / result.duration) * spec.eventsPerRequest,
    cpuUsPerEvent:
      requests > 0 ? ((cpuMs(spec.workerPid) - before) * 1000) / (requests * spec.eventsPerRequest) : 0,
    failures: result.non2xx + result.errors + result.timeouts,
  }
}
