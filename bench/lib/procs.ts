/**
 * Processes the bench starts, and what it reads about them from /proc (CPU time,
 * listening sockets). Every child is tracked and killed on exit, however the run ends.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, readdirSync, readFileSync, readlinkSync } from 'node:fs'

const children = new Set<ChildProcess>()
const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return '' // exited while we looked
  }
}
/** Fields of /proc/<pid>/stat after the command name: state(0) ppid(1) … utime(11) stime(12). */
const statFields = (pid: number | string) => {
  const stat = read(`/proc/${pid}/stat`)
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** Every descendant pid of `pid`, read from /proc. */
export function descendants(pid: number): number[] {
  const pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  const parentOf = new Map(pids.map((entry) => [Number(entry), Number(statFields(entry)[1])]))
  const found: number[] = []
  const visit = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid !== parent || found.includes(child)) continue
      found.push(child)
      visit(child)
    }
  }
  visit(pid)
  return found
}

export const commandLine = (pid: number) => read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ')

/** User + system CPU of a process (all its threads), in ms (100 clock ticks a second). */
export function cpuMs(pid: number): number {
  const fields = statFields(pid)
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** TCP ports a process listens on, from its socket fds and /proc/net/tcp{,6}. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1]
      } catch {
        return undefined
      }
    }),
  )
  return [read('/proc/net/tcp'), read('/proc/net/tcp6')]
    .flatMap((table) => table.split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/)) // local_address(1) st(3) inode(9); 0A = LISTEN
    .filter((columns) => columns[3] === '0A' && inodes.has(columns[9]))
    .map((columns) => Number.parseInt(columns[1]?.split(':')[1] ?? '0', 16))
}

export interface Spawned {
  child: ChildProcess
  pid: number
  exited: Promise<number | null>
}

/** Starts a tracked child with its output appended to `logFile`. */
export function start(
  command: string,
  args: string[],
  options: { cwd: string; logFile: string; env?: Record<string, string> },
): Spawned {
  const log = createWriteStream(options.logFile, { flags: 'a' })
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env } })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  children.add(child)
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  return { child, pid: child.pid, exited }
}

function kill(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** SIGINT (wrangler's clean shutdown), then SIGKILL for anything of its tree still alive after `graceMs`. */
export async function stop(spawned: Spawned, graceMs = 8000): Promise<void> {
  const tree = [...descendants(spawned.pid), spawned.pid]
  kill([spawned.pid], 'SIGINT')
  await Promise.race([spawned.exited, sleep(graceMs)])
  kill(tree, 'SIGKILL')
}

/** Last resort on exit: no child of this run survives it. */
export function killAllChildren(): void {
  for (const child of children)
    if (child.pid !== undefined) kill([...descendants(child.pid), child.pid], 'SIGKILL')
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
