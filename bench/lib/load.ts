/**
 * Bounded loopback load with autocannon: a fixed duration, a fixed number of
 * connections, 127.0.0.1 only. The worker's CPU during the run is read from
 * /proc, so each run also says what one request costs in the runtime.
 */
import autocannon from 'autocannon'
import { cpuMs } from './procs'

export interface LoadSpec {
  label: string
  url: string
  connections: number
  durationSeconds: number
  /** Request bodies, cycled through per connection. */
  bodies: string[]
  headers: Record<string, string>
  /** Events in one body, to turn requests/s into events/s. */
  eventsPerRequest: number
  /** Processes whose CPU is read around the run (e.g. worker, proxy). */
  pids: Record<string, number>
}

export interface LoadResult {
  label: string
  url: string
  connections: number
  durationSeconds: number
  requests: number
  requestsPerSecond: number
  eventsPerSecond: number
  latencyP50Ms: number
  latencyP99Ms: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  /** CPU ms per request of each watched process during the run. */
  cpuMsPerRequest: Record<string, number>
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`refusing to load a non-loopback address: ${url}`)
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  assertLoopback(spec.url)
  const path = new URL(spec.url).pathname
  const before = Object.fromEntries(Object.entries(spec.pids).map(([name, pid]) => [name, cpuMs(pid)]))
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: 10,
    requests: spec.bodies.map((body) => ({ method: 'POST', path, headers: spec.headers, body })),
  })
  const requests = result.requests.total
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]),
  )
  const cpuMsPerRequest = Object.fromEntries(
    Object.entries(spec.pids).map(([name, pid]) => [
      name,
      requests > 0 ? (cpuMs(pid) - (before[name] ?? 0)) / requests : 0,
    ]),
  )
  const requestsPerSecond = requests / result.duration
  return {
    label: spec.label,
    url: spec.url,
    connections: spec.connections,
    durationSeconds: result.duration,
    requests,
    requestsPerSecond,
    eventsPerSecond: requestsPerSecond * spec.eventsPerRequest,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    cpuMsPerRequest,
  }
}
