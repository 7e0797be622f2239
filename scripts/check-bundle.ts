/**
 * CI's deploy check (`npm run check:bundle`, run by .ci/run): builds the Worker
 * exactly as `wrangler deploy` would upload it (`--dry-run`: no Cloudflare
 * account, login or network needed) and fails when the build fails or the
 * upload grows past the budget stated in README "Deploy".
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { runWranglerToEnd } from './local-stack'

/**
 * Budgets in KiB, as wrangler reports "Total Upload": about 15 % above the last measure
 * (323 KiB / 80 KiB gzip when first set; 391 / 98 once the sharded ledger and the
 * destination rules landed; 528 / 131 with issue 16's operations: gates, alerts, the
 * test console, the funnel and replay jobs, two thirds of it their own code and pages).
 */
const BUDGET_KIB = { raw: 610, gzip: 150 }

/** What wrangler uploads: the modules it wrote, not the source map or its README. */
const UPLOADED = new Set(['.js', '.mjs', '.cjs', '.wasm', '.bin', '.txt', '.html'])

/** Builds into `outdir` and returns the failure to report, or the summary line when within budget. */
function checkBundle(outdir: string): { ok: boolean; message: string } {
  if (!runWranglerToEnd(['deploy', '--dry-run', '--outdir', outdir]))
    return { ok: false, message: 'bundle: `wrangler deploy --dry-run` failed: the Worker does not build' }
  const files = readdirSync(outdir).filter((name) => UPLOADED.has(extname(name)))
  if (files.length === 0) return { ok: false, message: `bundle: wrangler wrote no module to ${outdir}` }
  const contents = Buffer.concat(files.map((name) => readFileSync(join(outdir, name))))
  const kib = { raw: contents.length / 1024, gzip: gzipSync(contents).length / 1024 }
  const summary = `bundle: ${kib.raw.toFixed(1)} KiB, ${kib.gzip.toFixed(1)} KiB gzipped (budget ${BUDGET_KIB.raw} KiB, ${BUDGET_KIB.gzip} KiB gzipped)`
  const over = kib.raw > BUDGET_KIB.raw || kib.gzip > BUDGET_KIB.gzip
  return { ok: !over, message: over ? `${summary}: over budget` : summary }
}

const outdir = mkdtempSync(join(tmpdir(), 'router-bundle-'))
const result = checkBundle(outdir)
rmSync(outdir, { recursive: true, force: true })
if (result.ok) console.log(result.message)
else {
  console.error(result.message)
  process.exitCode = 1
}
