import { Hono } from 'hono'
import { redactConfig, restoreRedactedSecrets } from '../config/redact'
import { configShapeIssues, validateConfig } from '../config/schema'
import { loadRawConfig, saveConfig } from '../config/store'
import type { AppEnv } from '../env'
import { readJsonBody } from '../lib/body'
import { systemClock } from '../lib/clock'
import { type InputIssue, RouterError } from '../lib/errors'
import { recordAudit } from '../operations/log'

function invalidConfig(issues: InputIssue[]): RouterError {
  return new RouterError(400, 'invalid_config', 'the config document is invalid; nothing was stored', issues)
}

/** GET and PUT of the config document (mounted under /admin, behind requireAdmin). */
export const configRoutes = new Hono<AppEnv>()
  .get('/config', async (c) => c.json(redactConfig(await loadRawConfig(c.env))))
  .put('/config', async (c) => {
    const incoming = await readJsonBody(c.req.raw, { maxBytes: 1_000_000 })
    // Depth and reserved names first: restoring secrets copies the whole document.
    const shapeIssues = configShapeIssues(incoming)
    if (shapeIssues.length > 0) throw invalidConfig(shapeIssues)
    const restored = restoreRedactedSecrets(incoming, await loadRawConfig(c.env))
    const result = validateConfig(restored.document)
    const issues = [...restored.issues, ...(result.ok ? [] : result.issues)]
    if (!result.ok || issues.length > 0) throw invalidConfig(issues)
    await saveConfig(c.env, restored.document, result.config)
    const sources = result.config.sources.length
    await recordAudit(c.env, {
      at: systemClock.now(),
      actor: 'admin',
      action: 'config.saved',
      target: 'config',
      detail: `${sources} source${sources === 1 ? '' : 's'}`,
    })
    return c.json({ success: true, sources })
  })
