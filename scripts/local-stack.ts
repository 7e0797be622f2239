/**
 * The whole router running locally: the partner sandbox, the Worker under
 * `wrangler dev` (local KV, Queues and the ledger's Durable Objects, which create
 * their own tables; nothing to sign up for)
 * and the seeded demo config. One function, used by `npm start`, `npm run demo`
 * and the browser test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RunningSandbox, startSandbox } from '../sandbox/server'
import { DEMO_SOURCE, DEMO_WRITE_KEY, demoConfig, needsDemoConfig } from './demo-config'
import { freePort } from './ports'

/** The repository root: wrangler.toml and .dev.vars live there. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface LocalStackOptions {
  /** Port of the router (`wrangler dev`); 0 picks a free one. */
  routerPort: number
  /** Port of the partner sandbox; 0 picks a free one. */
  sandboxPort: number
  /** Where the local KV, Queues and Durable Objects live; default `.wrangler/state`, as plain `wrangler dev`. */
  persistTo?: string
  /** The ADMIN_TOKEN to run with; default the one in `.dev.vars`, created on first start. */
  adminToken?: string
  /** `inherit`: wrangler prints to this terminal (npm start). `capture`: kept for `logs()` (tests). */
  output?: 'inherit' | 'capture'
  /**
   * Ctrl-C and SIGTERM stop the stack and end the process, from the first moment
   * (a command-line run). Without it the caller must call `stop()`.
   */
  exitOnSignal?: boolean
}

export interface LocalStack {
  routerUrl: string
  sandboxUrl: string
  /** Signs the browser in: the token rides in the fragment, which never reaches a server. */
  dashboardUrl: string
  adminToken: string
  sourceName: string
  writeKey: string
  /** The last lines wrangler printed, when output is `capture`. */
  logs(): string
  stop(): Promise<void>
}

/** The local admin token lives in .dev.vars (git-ignored; wrangler dev reads it), created on first use. */
export function localAdminToken(): string {
  const path = join(REPO_ROOT, '.dev.vars')
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const match = existing.match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?/m)
  if (match?.[1]) return match[1]
  const token = `local-${randomBytes(12).toString('hex')}`
  const separator = existing && !existing.endsWith('\n') ? '\n' : ''
  writeFileSync(path, `${existing}${separator}ADMIN_TOKEN="${token}"\n`)
  return token
}

/** Fails fast, and says which port, when something already listens there. */
function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', () =>
      reject(
        new Error(`port ${port} (${what}) is in use: is another \`npm start\` running? Set another port.`),
      ),
    )
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
  })
}

/** Keeps the last lines a child printed, for error messages. */
class OutputTail {
  private lines: string[] = []
  add(chunk: Buffer): void {
    this.lines.push(...chunk.toString('utf8').split('\n'))
    if (this.lines.length > 300) this.lines = this.lines.slice(-300)
  }
  toString(): string {
    return this.lines.join('\n')
  }
}

export const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
)

/** Wrangler without its network side trips: no telemetry, no fetch of the `Request.cf` sample. */
export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
}

/**
 * Runs a wrangler command to its end, its output kept; on failure prints that
 * output and returns false (for the scripts that build or generate, not serve).
 */
export function runWranglerToEnd(args: string[]): boolean {
  try {
    execFileSync(process.execPath, [WRANGLER, ...args], { cwd: REPO_ROOT, stdio: 'pipe', env: WRANGLER_ENV })
    return true
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer }
    process.stderr.write(`${stdout ?? ''}${stderr ?? ''}`)
    return false
  }
}

/**
 * Runs wrangler in its own process group, so stopping it also stops the workerd
 * processes it starts.
 */
function runWrangler(args: string[], output: 'inherit' | 'capture', tail: OutputTail): ChildProcess {
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: REPO_ROOT,
    env: WRANGLER_ENV,
    detached: true,
    stdio: ['ignore', output === 'inherit' ? 'inherit' : 'pipe', output === 'inherit' ? 'inherit' : 'pipe'],
  })
  child.stdout?.on('data', (chunk: Buffer) => tail.add(chunk))
  child.stderr?.on('data', (chunk: Buffer) => tail.add(chunk))
  return child
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

/** Signals the child's whole process group; it may already be gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already exited
  }
}

async function stopWrangler(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  signalGroup(child, 'SIGINT')
  const stopped = await Promise.race([
    exited(child),
    new Promise((r) => setTimeout(() => r('timeout'), 5000)),
  ])
  if (stopped === 'timeout') signalGroup(child, 'SIGKILL')
  // workerd children may outlive wrangler's own exit by a moment.
  signalGroup(child, 'SIGKILL')
}

async function waitForHealth(routerUrl: string, child: ChildProcess, tail: OutputTail): Promise<void> {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}\n${tail}`)
    try {
      if ((await fetch(`${routerUrl}/health`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  throw new Error(`wrangler dev did not answer ${routerUrl}/health within 2 minutes\n${tail}`)
}

/** The consumer takes a batch at least this often (`max_batch_timeout` in wrangler.toml, plus a margin). */
const CONSUMER_BATCH_MS = 1_500

/** How long Ctrl-C waits for queued deliveries to settle before stopping anyway. */
const SETTLE_WAIT_MS = 30_000

/**
 * Deliveries the local queue still holds: pairs `retrying` in the ledger
 * (GET /admin/stats, last 24 hours, which covers the 4-hour retry window).
 */
export async function deliveriesStillQueued(
  stack: Pick<LocalStack, 'routerUrl' | 'adminToken'>,
): Promise<number> {
  const response = await fetch(`${stack.routerUrl}/admin/stats`, {
    headers: { Authorization: `Bearer ${stack.adminToken}` },
  })
  if (!response.ok) throw new Error(`GET /admin/stats answered ${response.status}`)
  const { counts } = (await response.json()) as { counts: { status: string; count: number }[] }
  return counts.filter((row) => row.status === 'retrying').reduce((sum, row) => sum + row.count, 0)
}

export interface SettleOptions {
  /** How long to wait for retrying deliveries to settle. */
  waitMs: number
  log: (line: string) => void
  /** Aborted: stop waiting at once (a second Ctrl-C). */
  signal?: AbortSignal
}

function deliveries(count: number): string {
  return count === 1 ? '1 delivery is' : `${count} deliveries are`
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/**
 * Before the local stack stops: `wrangler dev` keeps its queue in memory, so
 * events acknowledged but not yet delivered are lost when it stops (production
 * Queues keep them). Lets the consumer take what was just queued, then, while
 * deliveries are still retrying, says how many and waits up to `waitMs` for them
 * to settle. Returns how many are still queued (lost if the stack stops now).
 */
export async function settleQueueBeforeStop(
  stack: Pick<LocalStack, 'routerUrl' | 'adminToken'>,
  options: SettleOptions,
): Promise<number> {
  await sleep(CONSUMER_BATCH_MS, options.signal)
  let queued: number
  try {
    queued = await deliveriesStillQueued(stack)
  } catch (error) {
    options.log(`Could not ask the router what is still queued (${(error as Error).message}); stopping.`)
    return 0
  }
  if (queued === 0) return 0
  options.log(
    `${deliveries(queued)} still retrying in the local queue, which wrangler dev keeps in memory: ` +
      `stopping now loses them. Waiting up to ${Math.round(options.waitMs / 1000)} s for them to settle ` +
      '(Ctrl-C again stops at once).',
  )
  const deadline = Date.now() + options.waitMs
  while (queued > 0 && Date.now() < deadline && !options.signal?.aborted) {
    await sleep(1_000, options.signal)
    queued = await deliveriesStillQueued(stack).catch(() => queued)
  }
  options.log(
    queued === 0
      ? 'The local queue has settled: nothing is lost.'
      : `Stopping: ${deliveries(queued)} still undelivered, and lost (GET /admin/deliveries?status=retrying lists them).`,
  )
  return queued
}

async function seedDemoConfig(routerUrl: string, adminToken: string, sandboxUrl: string): Promise<void> {
  const headers = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }
  const current = await fetch(`${routerUrl}/admin/config`, { headers })
  if (!current.ok) throw new Error(`reading the config failed: ${current.status} ${await current.text()}`)
  if (!needsDemoConfig(await current.json(), sandboxUrl)) return
  const put = await fetch(`${routerUrl}/admin/config`, {
    method: 'PUT',
    headers,
    body: JSON.stringify(demoConfig(sandboxUrl)),
  })
  if (!put.ok) throw new Error(`seeding the demo config failed: ${put.status} ${await put.text()}`)
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const output = options.output ?? 'inherit'
  const tail = new OutputTail()
  const adminToken = options.adminToken ?? localAdminToken()
  const persistArgs = options.persistTo ? ['--persist-to', options.persistTo] : []
  if (options.routerPort !== 0) await assertPortFree(options.routerPort, 'router')
  if (options.sandboxPort !== 0) await assertPortFree(options.sandboxPort, 'partner sandbox')
  const routerPort = options.routerPort || (await freePort())

  // An explicit token goes in a private env file, so the developer's .dev.vars is neither read nor touched.
  const envDir = options.adminToken ? mkdtempSync(join(tmpdir(), 'router-env-')) : undefined
  const envArgs: string[] = []
  if (envDir) {
    writeFileSync(join(envDir, 'admin.env'), `ADMIN_TOKEN="${adminToken}"\n`)
    envArgs.push('--env-file', join(envDir, 'admin.env'))
  }

  let sandbox: RunningSandbox | undefined
  let wrangler: ChildProcess | undefined
  /** Set once the router answers: only then can Ctrl-C ask it what is still queued. */
  let routerUrl: string | undefined
  const stop = async () => {
    if (wrangler) await stopWrangler(wrangler)
    await sandbox?.close()
    if (envDir) rmSync(envDir, { recursive: true, force: true })
  }
  // Last resort if this process dies without stop(): never leave a router running on its own.
  const onExit = () => wrangler && signalGroup(wrangler, 'SIGKILL')
  process.once('exit', onExit)
  if (options.exitOnSignal) {
    // The first signal waits (bounded) for queued deliveries; a second one stops at once.
    const settling = new AbortController()
    let stopping = false
    const onSignal = async () => {
      if (stopping) return settling.abort()
      stopping = true
      if (routerUrl) {
        const log = (line: string) => console.log(`\n${line}`)
        await settleQueueBeforeStop(
          { routerUrl, adminToken },
          { waitMs: SETTLE_WAIT_MS, log, signal: settling.signal },
        )
      }
      await stop()
      process.exit(0)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }

  try {
    sandbox = await startSandbox(options.sandboxPort)

    wrangler = runWrangler(
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(routerPort),
        // Its own inspector port: the default 9229 would clash with a second stack (npm start + the test).
        '--inspector-port',
        String(await freePort()),
        '--show-interactive-dev-session=false',
        ...persistArgs,
        ...envArgs,
      ],
      output,
      tail,
    )
    const url = `http://127.0.0.1:${routerPort}`
    await waitForHealth(url, wrangler, tail)
    routerUrl = url
    await seedDemoConfig(routerUrl, adminToken, sandbox.url)

    return {
      routerUrl,
      sandboxUrl: sandbox.url,
      dashboardUrl: `${routerUrl}/admin#token=${encodeURIComponent(adminToken)}`,
      adminToken,
      sourceName: DEMO_SOURCE,
      writeKey: DEMO_WRITE_KEY,
      logs: () => tail.toString(),
      stop: async () => {
        process.off('exit', onExit)
        await stop()
      },
    }
  } catch (error) {
    process.off('exit', onExit)
    await stop()
    throw error
  }
}
