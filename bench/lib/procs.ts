/**
 * Processes the benchmark starts, and what it reads about them from /proc: CPU
 * time, memory, listening sockets. Every child is tracked and stopped on exit,
 * whatever way the run ends.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, readdirSync, readFileSync, readlinkSync } from 'node:fs'

const CLOCK_TICKS_PER_SECOND = 100
const children = new Set<ChildProcess>()

/** Every descendant pid of `pid` (children first), read from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = parents.get(ppid) ?? []
      list.push(Number(entry))
      parents.set(ppid, list)
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = []
  const visit = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child)
      visit(child)
    }
  }
  visit(pid)
  return found
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
  } catch {
    return ''
  }
}

/** User + system CPU of a process (all its threads), in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After the comm field: state(0) ppid(1) … utime(11) stime(12).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
}

/** TCP ports a process listens on (IPv4 and IPv6), from its socket fds and /proc/net/tcp*. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        const match = target.match(/^socket:\[(\d+)\]$/)
        if (match?.[1]) inodes.add(match[1])
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return []
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/)
      // local_address(1) … st(3) … inode(9); 0A = LISTEN
      if (columns[3] !== '0A' || !columns[9] || !inodes.has(columns[9])) continue
      ports.push(Number.parseInt(columns[1]?.split(':')[1] ?? '0', 16))
    }
  }
  return ports
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
  const child = spawn(command, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  children.add(child)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  return { child, pid: child.pid, exited }
}

function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const target of [...descendants(pid).reverse(), pid]) {
    try {
      process.kill(target, signal)
    } catch {
      // already gone
    }
  }
}

/** SIGINT (wrangler's own clean shutdown), then SIGKILL for anything of its tree still alive after `graceMs`. */
export async function stop(spawned: Spawned, graceMs = 8000): Promise<void> {
  const tree = [...descendants(spawned.pid), spawned.pid]
  try {
    process.kill(spawned.pid, 'SIGINT')
  } catch {
    // already gone
  }
  await Promise.race([spawned.exited, new Promise((resolve) => setTimeout(resolve, graceMs))])
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  for (const pid of tree) if (alive(pid)) signalTree(pid, 'SIGKILL')
}

/** Last resort on exit: no child of this run survives it. */
export function killAllChildren(): void {
  for (const child of children) if (child.pid !== undefined) signalTree(child.pid, 'SIGKILL')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
