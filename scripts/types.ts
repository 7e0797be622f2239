/**
 * `npm run types`: writes worker-configuration.d.ts (the `Env` interface) from
 * wrangler.toml with `wrangler types`, as Cloudflare's templates do.
 * `--check` (first step of `npm test`): fails when the committed file differs
 * from what wrangler.toml generates, and leaves the committed file as it was.
 *
 * Only the Env part is generated: runtime types come from @cloudflare/workers-types.
 * Vars are typed `string` (not their literal values) so tests and deployments may
 * set others. Secret names come from .dev.vars.example, not the developer's own
 * .dev.vars, so every machine generates the same file (and `wrangler dev`, which
 * compares against .dev.vars, finds it current after `npm start` wrote one).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, runWranglerToEnd } from './local-stack'

const TYPES_FILE = 'worker-configuration.d.ts'
const TYPES_ARGS = [
  'types',
  TYPES_FILE,
  '--include-runtime=false',
  '--strict-vars=false',
  '--env-file',
  '.dev.vars.example',
]

function generate(): void {
  if (!runWranglerToEnd(TYPES_ARGS)) throw new Error(`wrangler ${TYPES_ARGS.join(' ')} failed`)
}

const path = join(REPO_ROOT, TYPES_FILE)
if (process.argv.includes('--check')) {
  if (!existsSync(path)) {
    console.error(`${TYPES_FILE} is missing: run \`npm run types\` and commit it.`)
    process.exit(1)
  }
  const committed = readFileSync(path, 'utf8')
  generate()
  const generated = readFileSync(path, 'utf8')
  writeFileSync(path, committed)
  if (generated !== committed) {
    console.error(`${TYPES_FILE} is out of date with wrangler.toml: run \`npm run types\` and commit it.`)
    process.exit(1)
  }
  console.log(`${TYPES_FILE} matches wrangler.toml`)
} else {
  generate()
  console.log(`wrote ${TYPES_FILE}`)
}
