import { Hono } from 'hono'
import { redactConfig, restoreRedactedSecrets } from '../config/redact'
import { validateConfig } from '../config/schema'
import { loadRawConfig, saveConfig } from '../config/store'
import type { AppEnv } from '../env'
import { readJsonBody } from '../lib/body'
import { RouterError } from '../lib/errors'

/** GET and PUT of the config document (mounted under /admin, behind requireAdmin). */
export const configRoutes = new Hono<AppEnv>()
  .get('/config', async (c) => c.json(redactConfig(await loadRawConfig(c.env))))
  .put('/config', async (c) => {
    const incoming = await readJsonBody(c.req.raw, { maxBytes: 1_000_000 })
    const document = restoreRedactedSecrets(incoming, await loadRawConfig(c.env))
    const result = validateConfig(document)
    if (!result.ok)
      throw new RouterError(
        400,
        'invalid_config',
        'the config document is invalid; nothing was stored',
        result.issues,
      )
    await saveConfig(c.env, document, result.config)
    return c.json({ success: true, sources: result.config.sources.length })
  })
