/**
 * Workers under `wrangler dev`, from a snapshot: each is bundled once at the start
 * (`wrangler deploy --dry-run`) and served with `--no-bundle`, so edits made while
 * the bench runs change nothing. `wrangler dev` runs its dev proxy (the URL it
 * prints) and the worker's own workerd on a random loopback port: that socket is
 * found from the workerd process's listening ports, probed with `GET /health`.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort } from '../../scripts/ports'
import { commandLine, descendants, listeningPorts, type Spawned, start, stop } from './procs'

export const ROOT = resolve(import.meta.dirname, '..', '..')
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
/** Loopback only: no telemetry, no fetch of the `Request.cf` placeholder. */
const OFFLINE = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

export interface WorkerBuild {
  dir: string
  script: string
  config: string
}

/** Bundles the worker of `configPath` into `dir`/dist, with `runConfig` beside it to serve it with. */
export async function buildWorker(configPath: string, dir: string, logFile: string, runConfig = configPath) {
  mkdirSync(dir, { recursive: true })
  const args = [WRANGLER, 'deploy', '--dry-run', '--outdir', join(dir, 'dist'), '-c', configPath]
  const code = await start(process.execPath, args, { cwd: ROOT, logFile, env: OFFLINE }).exited
  if (code !== 0) throw new Error(`bundling ${configPath} failed; see ${logFile}`)
  copyFileSync(runConfig, join(dir, 'wrangler.toml'))
  return { dir, script: join(dir, 'dist', 'index.js'), config: join(dir, 'wrangler.toml') }
}

export interface DevWorker {
  /** The URL `wrangler dev` prints (its dev proxy). */
  url: string
  /** The worker's own workerd socket. */
  socketUrl: string
  /** The worker's workerd process (it also runs the local KV, Queues and Durable Objects). */
  workerPid: number
  stop(): Promise<void>
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

/** `wrangler dev <bundle> --no-bundle` on loopback; resolves once /health answers on both URLs. */
export async function startDev(
  build: WorkerBuild,
  options: { persistTo: string; vars?: Record<string, string>; logFile: string },
): Promise<DevWorker> {
  const port = await freePort()
  const args = [
    ...[WRANGLER, 'dev', build.script, '--no-bundle', '-c', build.config, '--ip', '127.0.0.1'],
    ...['--port', String(port), '--inspector-port', String(await freePort())],
    ...['--show-interactive-dev-session=false', '--persist-to', options.persistTo],
    ...Object.entries(options.vars ?? {}).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ]
  const wrangler: Spawned = start(process.execPath, args, {
    cwd: build.dir,
    logFile: options.logFile,
    env: OFFLINE,
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  while (!(await healthy(url))) {
    if (wrangler.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`wrangler dev did not come up; see ${options.logFile}`)
    await new Promise((done) => setTimeout(done, 300))
  }
  const workerPid = descendants(wrangler.pid).find((pid) =>
    commandLine(pid).includes('--socket-addr=entry=127.0.0.1:0'),
  )
  if (workerPid === undefined) throw new Error("could not find the worker's workerd process")
  for (const socketPort of listeningPorts(workerPid)) {
    const socketUrl = `http://127.0.0.1:${socketPort}`
    if (await healthy(socketUrl)) return { url, socketUrl, workerPid, stop: () => stop(wrangler) }
  }
  throw new Error(`no port of workerd ${workerPid} answers GET /health`)
}
