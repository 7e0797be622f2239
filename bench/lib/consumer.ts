/**
 * Target 3 on the peer's terms: the router's queue consumer in a Node child
 * (bench/consumer/node.ts), its own CPU measured there, with local KV/D1/Queues
 * in another process and the partner sandbox in this one.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BindingMode } from '../consumer/bindings'
import type { ConsumerRunInput, ConsumerRunResult, HttpClient } from '../consumer/node'
import type { RawEvent } from './events'
import { start, stop } from './procs'
import { ROOT } from './wrangler'

export type { ConsumerPass, ConsumerRunResult } from '../consumer/node'

/** A snapshot of the child: the router's code bundled with it, wrangler.toml and migrations/ beside it. */
export interface ConsumerBuild {
  script: string
  root: string
}

/**
 * Bundles bench/consumer/node.ts with the router's code as it is now (esbuild, the one
 * wrangler uses; the packages that start local workerd stay external), like the
 * workers' snapshots, so the consumer measured later is the code of the run's start.
 */
export async function buildConsumer(dir: string): Promise<ConsumerBuild> {
  mkdirSync(dir, { recursive: true })
  const { build } = await import('esbuild')
  const script = join(dir, 'node.mjs')
  // The external packages are imported from the repository's node_modules wherever the bundle lies.
  const fromRoot = createRequire(join(ROOT, 'package.json'))
  await build({
    entryPoints: [join(ROOT, 'bench', 'consumer', 'node.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    plugins: [
      {
        name: 'externals-from-root',
        setup(builder) {
          builder.onResolve({ filter: /^(wrangler|miniflare|ws)$/ }, (args) => ({
            path: pathToFileURL(fromRoot.resolve(args.path)).href,
            external: true,
          }))
        },
      },
    ],
  })
  copyFileSync(join(ROOT, 'wrangler.toml'), join(dir, 'wrangler.toml'))
  cpSync(join(ROOT, 'migrations'), join(dir, 'migrations'), { recursive: true })
  return { script, root: dir }
}

export async function runConsumerInNode(options: {
  /** Where the child's input, output, log and local state go (a fresh directory per run). */
  dir: string
  /** A snapshot from buildConsumer; without it, bench/consumer/node.ts from the tree, through tsx. */
  build?: ConsumerBuild
  sandboxUrl: string
  tenant: string
  events: readonly RawEvent[]
  users: number
  runId: string
  bindings?: BindingMode
  warmupEvents?: number
  maxEvents?: number
  secondPass?: boolean
  /** Default `peer`: the HTTP client the peer is measured with. */
  http?: HttpClient
  timeoutMs?: number
}): Promise<ConsumerRunResult> {
  const { dir, build } = options
  mkdirSync(dir, { recursive: true })
  const eventsFile = join(dir, 'events.json')
  writeFileSync(eventsFile, JSON.stringify(options.events))
  const input: ConsumerRunInput = {
    root: build?.root ?? ROOT,
    sandboxUrl: options.sandboxUrl,
    tenant: options.tenant,
    eventsFile,
    users: options.users,
    runId: options.runId,
    persistDir: join(dir, 'state'),
    bindings: options.bindings ?? (process.env.BENCH_CONSUMER_BINDINGS === 'proxy' ? 'proxy' : 'bridge'),
    warmupEvents: options.warmupEvents ?? 1000,
    ...(options.maxEvents !== undefined && { maxEvents: options.maxEvents }),
    secondPass: options.secondPass ?? true,
    http: options.http ?? 'peer',
  }
  const inputFile = join(dir, 'input.json')
  const outputFile = join(dir, 'output.json')
  const logFile = join(dir, 'consumer.log')
  writeFileSync(inputFile, JSON.stringify(input))
  const entry = build ? [build.script] : ['--import', 'tsx', join(ROOT, 'bench', 'consumer', 'node.ts')]
  const child = start(process.execPath, [...entry, inputFile, outputFile], {
    cwd: ROOT,
    logFile,
    env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
  const timeoutMs = options.timeoutMs ?? 300_000
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([
    child.exited,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    }),
  ])
  clearTimeout(timer)
  if (code === 'timeout') {
    await stop(child, 3000)
    throw new Error(`the consumer in Node did not finish in ${timeoutMs / 1000} s; see ${logFile}`)
  }
  if (code !== 0) {
    const tail = readFileSync(logFile, 'utf8').slice(-3000)
    throw new Error(`the consumer in Node failed (exit ${code}); see ${logFile}\n${tail}`)
  }
  return JSON.parse(readFileSync(outputFile, 'utf8')) as ConsumerRunResult
}
