import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LocalStack, startLocalStack } from '../../scripts/local-stack'

/**
 * The real local stack (sandbox + `wrangler dev`) on free ports, in a fresh
 * persist dir so a developer's own `.wrangler/state` is never touched; `stop()`
 * ends it and removes that dir (DEBUG_STACK=1 prints wrangler's last lines first).
 */
export async function startTestStack(label: string): Promise<LocalStack> {
  const persistDir = mkdtempSync(join(tmpdir(), 'router-state-'))
  const stack = await startLocalStack({
    routerPort: 0,
    sandboxPort: 0,
    persistTo: persistDir,
    adminToken: `${label}-${randomUUID()}`,
    output: 'capture',
  }).catch((error: unknown) => {
    rmSync(persistDir, { recursive: true, force: true })
    throw error
  })
  return {
    ...stack,
    async stop() {
      if (process.env.DEBUG_STACK) console.log(stack.logs())
      await stack.stop()
      rmSync(persistDir, { recursive: true, force: true })
    },
  }
}
