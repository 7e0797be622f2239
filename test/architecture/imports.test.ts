/// <reference types="vite/client" />
/**
 * The import rule of CONTRIBUTING.md, checked over the source files' import
 * graph: layers import one way along the data path, and no file cycle exists.
 */
import { describe, expect, it } from 'vitest'

/** Source text by path relative to the repository root (`src/app.ts`), read by Vite at build time. */
function sources(globbed: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(globbed).map(([path, text]) => [path.replace(/^(\.\.\/)+/, ''), text]))
}

const files = new Map([
  ...sources(import.meta.glob('../../src/**/*.{ts,tsx}', { query: '?raw', import: 'default', eager: true })),
  ...sources(import.meta.glob('../../sandbox/**/*.ts', { query: '?raw', import: 'default', eager: true })),
])

/** Layers in data-path order: a file may import its own layer or one further down this list. */
const LAYERS = [
  'entry',
  'admin',
  'dashboard',
  'ingest',
  'queue',
  'delivery',
  'operations',
  'config',
  'destinations',
  'ledger',
  'segment',
  'lib',
] as const
type Layer = (typeof LAYERS)[number] | 'env' | 'sandbox'

function layerOf(file: string): Layer | undefined {
  if (file === 'src/index.ts' || file === 'src/app.ts') return 'entry'
  if (file === 'src/env.ts') return 'env'
  if (file.startsWith('sandbox/')) return 'sandbox'
  const folder = /^src\/([^/]+)\//.exec(file)?.[1]
  return LAYERS.find((layer) => layer === folder && layer !== 'entry')
}

/** What admin/ and dashboard/ may read besides their own folder: the stores, names, the replay entry. */
const READ_SIDE_TARGETS = [
  /^src\/ledger\//,
  /^src\/config\//,
  /^src\/operations\//,
  /^src\/queue\/replay\.ts$/,
  /^src\/delivery\/test-send\.ts$/,
  /^src\/ingest\/test-event\.ts$/,
  /^src\/destinations\/registry\.ts$/,
  /^src\/segment\//,
  /^src\/lib\//,
  /^src\/env\.ts$/,
]

/** Why the edge `from → to` breaks the rule, or undefined when it keeps it. */
function violation(from: string, to: string): string | undefined {
  const source = layerOf(from)
  const target = layerOf(to)
  if (source === undefined) return `${from} is in no layer (add its folder to LAYERS and CONTRIBUTING.md)`
  if (target === undefined) return `${to} is in no layer`
  if (source === 'sandbox')
    return target === 'sandbox' || target === 'lib' ? undefined : 'sandbox/ may import only src/lib/'
  if (source === 'env') return 'src/env.ts imports nothing from the project'
  if (source === 'lib') return target === 'lib' ? undefined : 'src/lib/ imports nothing from the project'
  if (target === 'sandbox') return 'src/ never imports sandbox/'
  if (source === 'entry' || target === 'env' || source === target) return undefined
  // The dashboard signs in with the admin token: the one admin file it shares.
  if (source === 'dashboard' && to === 'src/admin/auth.ts') return undefined
  if (source === 'admin' || source === 'dashboard')
    return READ_SIDE_TARGETS.some((allowed) => allowed.test(to))
      ? undefined
      : `${source}/ reads through ledger/, config/, queue/replay, destinations/registry, segment/, lib/ only`
  if (target === 'entry') return 'nothing imports the entry points'
  return LAYERS.indexOf(target) > LAYERS.indexOf(source)
    ? undefined
    : `${source}/ may not import ${target}/ (it comes before it on the data path)`
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm

/** Project files `file` imports (relative specifiers only; packages are not the project's). */
function importsOf(file: string, text: string): string[] {
  const directory = file.split('/').slice(0, -1)
  const targets: string[] = []
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3]
    if (!specifier?.startsWith('.')) continue
    const parts = [...directory]
    for (const segment of specifier.split('/')) {
      if (segment === '..') parts.pop()
      else if (segment !== '.') parts.push(segment)
    }
    const base = parts.join('/')
    const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`]
    const resolved = candidates.find((candidate) => files.has(candidate))
    targets.push(resolved ?? `${base} (unresolved)`)
  }
  return targets
}

const graph = new Map([...files].map(([file, text]) => [file, importsOf(file, text)]))

/** Every cycle's files, one entry per strongly connected component of more than one file (or a self-import). */
function cycles(): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let counter = 0
  const visit = (file: string): void => {
    index.set(file, counter)
    low.set(file, counter)
    counter += 1
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      if (!index.has(next)) {
        visit(next)
        low.set(file, Math.min(low.get(file) as number, low.get(next) as number))
      } else if (onStack.has(next))
        low.set(file, Math.min(low.get(file) as number, index.get(next) as number))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string | undefined
    do {
      member = stack.pop() as string
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component.sort())
  }
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file)
  return found
}

describe('the import rule (CONTRIBUTING.md)', () => {
  it('reads the whole source tree and its imports', () => {
    expect(files.size).toBeGreaterThan(50)
    expect(graph.get('src/index.ts')).toContain('src/app.ts')
    expect(graph.get('src/destinations/registry.ts')).toContain('src/destinations/crisp/index.ts')
    expect([...graph.values()].flat().filter((target) => target.endsWith('(unresolved)'))).toEqual([])
  })

  it('knows a forbidden edge when it sees one', () => {
    expect(violation('src/lib/objects.ts', 'src/env.ts')).toBeDefined()
    expect(violation('src/destinations/crisp/index.ts', 'src/delivery/context.ts')).toBeDefined()
    expect(violation('src/dashboard/routes.tsx', 'src/admin/replay.ts')).toBeDefined()
    expect(violation('src/admin/replay.ts', 'src/queue/consume.ts')).toBeDefined()
    expect(violation('sandbox/partners/crisp.ts', 'src/destinations/crisp/settings.ts')).toBeDefined()
    expect(violation('src/delivery/context.ts', 'src/destinations/types.ts')).toBeUndefined()
  })

  it('every import goes to the same layer or one further down the data path', () => {
    const broken = [...graph].flatMap(([from, targets]) =>
      targets.flatMap((to) => {
        const why = violation(from, to)
        return why === undefined ? [] : [`${from} → ${to}: ${why}`]
      }),
    )
    expect(broken).toEqual([])
  })

  it('no files import each other in a cycle', () => {
    expect(cycles()).toEqual([])
  })
})
