/**
 * Workers under `wrangler dev`, the way `npm start` runs the router, from a
 * snapshot: each worker is bundled once at the start of the run (wrangler's own
 * esbuild, `deploy --dry-run`) and served with `--no-bundle`, so edits made in
 * the tree while the benchmark runs neither reload the worker nor change what is
 * measured.
 *
 * `wrangler dev` runs two workerd processes: its dev proxy, listening on the URL
 * it prints, and the worker's own workerd, listening on a random loopback port
 * (`--socket-addr=entry=127.0.0.1:0`, reported to wrangler over a control fd).
 * The worker's socket is found by taking that workerd process among wrangler's
 * descendants, listing its listening TCP sockets (/proc/<pid>/fd ↔ /proc/net/tcp)
 * and probing each with `GET /health`.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort } from '../../scripts/ports'
import { commandLine, descendants, listeningPorts, type Spawned, start, stop } from './procs'

export const ROOT = resolve(import.meta.dirname, '..', '..')
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')

export interface WorkerBuild {
  name: string
  dir: string
  script: string
  config: string
}

/**
 * Loopback only: no telemetry, and no fetch of the \`Request.cf\` placeholder from
 * workers.cloudflare.com (miniflare falls back to its built-in one).
 */
const OFFLINE = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }

function runNode(args: string[], cwd: string, logFile: string): Promise<void> {
  const spawned = start(process.execPath, args, { cwd, logFile, env: OFFLINE })
  return spawned.exited.then((code) => {
    if (code !== 0) throw new Error(`${args.slice(0, 3).join(' ')} failed (exit ${code}); see ${logFile}`)
  })
}

/**
 * Bundles the worker of `configPath` into `dir`/dist and copies `runConfig` (its
 * own config unless given) beside it, to serve it with.
 */
export async function buildWorker(
  name: string,
  configPath: string,
  dir: string,
  logFile: string,
  runConfig = configPath,
): Promise<WorkerBuild> {
  mkdirSync(dir, { recursive: true })
  await runNode(
    [WRANGLER, 'deploy', '--dry-run', '--outdir', join(dir, 'dist'), '-c', configPath],
    ROOT,
    logFile,
  )
  copyFileSync(runConfig, join(dir, 'wrangler.toml'))
  return { name, dir, script: join(dir, 'dist', 'index.js'), config: join(dir, 'wrangler.toml') }
}

export interface DevWorker {
  name: string
  /** The URL `wrangler dev` prints (its dev proxy). */
  url: string
  /** The worker's own workerd socket. */
  socketUrl: string
  wrangler: Spawned
  /** The worker's workerd process (its CPU is the worker's, plus local KV/D1/Queues simulators). */
  workerPid: number
  /** The dev proxy's workerd process. */
  proxyPid: number
  /** Finds the worker's process and socket again (after a reload). */
  refresh(): Promise<void>
  stop(): Promise<void>
}

async function probeHealth(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

async function findWorkerSocket(
  wranglerPid: number,
): Promise<{ pid: number; url: string; proxyPid: number }> {
  const workerds = descendants(wranglerPid).filter((pid) => /\bworkerd\b.*\bserve\b/.test(commandLine(pid)))
  const worker = workerds.find((pid) => commandLine(pid).includes('--socket-addr=entry=127.0.0.1:0'))
  const proxy = workerds.find((pid) => pid !== worker)
  if (worker === undefined || proxy === undefined) throw new Error('could not find the workerd processes')
  for (const port of listeningPorts(worker)) {
    const url = `http://127.0.0.1:${port}`
    if (await probeHealth(url)) return { pid: worker, url, proxyPid: proxy }
  }
  throw new Error(`no port of workerd ${worker} answers GET /health`)
}

/** `wrangler dev <bundle> --no-bundle` on loopback; resolves once /health answers on both URLs. */
export async function startDev(
  build: WorkerBuild,
  options: { persistTo?: string; vars?: Record<string, string>; logFile: string },
): Promise<DevWorker> {
  const port = await freePort()
  const inspectorPort = await freePort()
  const args = [
    WRANGLER,
    'dev',
    build.script,
    '--no-bundle',
    '-c',
    build.config,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--show-interactive-dev-session=false',
    ...(options.persistTo ? ['--persist-to', options.persistTo] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ]
  const wrangler = start(process.execPath, args, { cwd: build.dir, logFile: options.logFile, env: OFFLINE })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  while (!(await probeHealth(url))) {
    if (wrangler.child.exitCode !== null) throw new Error(`wrangler dev exited; see ${options.logFile}`)
    if (Date.now() > deadline)
      throw new Error(`wrangler dev did not come up in 2 min; see ${options.logFile}`)
    await new Promise((done) => setTimeout(done, 300))
  }
  const found = await findWorkerSocket(wrangler.pid)
  const worker: DevWorker = {
    name: build.name,
    url,
    socketUrl: found.url,
    wrangler,
    workerPid: found.pid,
    proxyPid: found.proxyPid,
    async refresh() {
      const again = await findWorkerSocket(wrangler.pid)
      worker.socketUrl = again.url
      worker.workerPid = again.pid
      worker.proxyPid = again.proxyPid
    },
    stop: () => stop(wrangler),
  }
  return worker
}
