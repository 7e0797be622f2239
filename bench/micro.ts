/**
 * `npx tsx bench/micro.ts [router CPU µs per event]`: what each piece of hand-tuned
 * code could save, in process, on the bench's events. For each piece the plain
 * version's whole cost per event is an upper bound of what a faster version saves;
 * the team keeps hand-tuning only where it saves ≥ 3 % of the request's CPU (the
 * worker's CPU per event from bench/results.json, or the argument).
 */
import { readFileSync } from 'node:fs'
import * as v from 'valibot'
import { measureJson } from '../src/lib/json-size'
import {
  AliasSchema,
  GroupSchema,
  IdentifySchema,
  PageSchema,
  parseSegmentEvent,
  ScreenSchema,
  TrackSchema,
} from '../src/segment/schema'
import { event } from './lib/workload'

const encoder = new TextEncoder()
const sentAt = new Date().toISOString()
const events = Array.from({ length: 1000 }, (_, n) => event('micro', n, sentAt))
const times = events.map((e) => e.timestamp as string)

const variant = v.variant('type', [
  IdentifySchema,
  TrackSchema,
  PageSchema,
  ScreenSchema,
  GroupSchema,
  AliasSchema,
])

/** How deep a parsed JSON value nests objects and arrays (the plain depth check). */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  for (const item of Object.values(value)) deepest = Math.max(deepest, depth(item))
  return 1 + deepest
}

/** Per event: what the request does with the plain versions (timestamps read by 4 partners). */
const pieces: Record<string, (n: number) => unknown> = {
  'toISOString (corrected timestamp, once per event)': (n) =>
    new Date(Date.parse(times[n] as string)).toISOString(),
  'Date.parse ×3 (skew correction: receivedAt, sentAt, timestamp)': (n) =>
    Date.parse(times[n] as string) + Date.parse(sentAt) + Date.parse(sentAt),
  'plain size and depth limits: JSON.stringify + UTF-8 length + a depth walk': (n) =>
    encoder.encode(JSON.stringify(events[n])).byteLength + depth(events[n]),
  'measureJson, one walk for size and depth (kept: what the router does)': (n) => measureJson(events[n], 100),
  'valibot variant alone (a lookup by type saves at most part of it)': (n) => v.safeParse(variant, events[n]),
  'the variant and its userId check (as the router does)': (n) => parseSegmentEvent(events[n]),
}

function usPerEvent(fn: (n: number) => unknown): number {
  const runs: number[] = []
  for (let round = 0; round < 7; round += 1) {
    const start = process.cpuUsage()
    for (let i = 0; i < 20; i += 1) for (let n = 0; n < events.length; n += 1) fn(n)
    const used = process.cpuUsage(start)
    runs.push((used.user + used.system) / (20 * events.length))
  }
  return runs.sort((a, b) => a - b)[3] ?? 0
}

const fromResults = () => {
  const results = JSON.parse(readFileSync(new URL('results.json', import.meta.url), 'utf8'))
  const rounds: number[] = results.ingest[0].router.map((r: { cpuUsPerEvent: number }) => r.cpuUsPerEvent)
  return rounds.sort((a, b) => a - b)[rounds.length >> 1] as number
}
const requestUs = Number(process.argv[2] ?? fromResults())
console.log(
  `request CPU per event (worker): ${requestUs.toFixed(1)} µs; 3 % = ${(requestUs * 0.03).toFixed(2)} µs`,
)
for (const [name, fn] of Object.entries(pieces)) {
  const us = usPerEvent(fn)
  console.log(
    `${us.toFixed(2).padStart(6)} µs  ${((100 * us) / requestUs).toFixed(1).padStart(5)} %  ${name}`,
  )
}
