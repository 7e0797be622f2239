import { Hono } from 'hono'
import { findSourceByWriteKey, loadConfig } from '../config/store'
import type { AppEnv } from '../env'
import { RouterError } from '../lib/errors'

/**
 * The settings document Segment's browser library (`@segment/analytics-next`)
 * fetches from `<cdnURL>/v1/projects/<writeKey>/settings` before it sends
 * anything. Pointing `cdnURL` at the router serves this document, whose only
 * integration is Segment.io with `apiHost` set to this router: the unmodified
 * library then posts every call here (`/v1/t`, `/v1/i`, … or `/v1/b` in its
 * batching mode, as `text/plain`), and the router routes them to the configured
 * destinations. No device-mode destination is loaded in the browser.
 */
export const browserSettingsRoutes = new Hono<AppEnv>().get('/v1/projects/:writeKey/settings', async (c) => {
  const writeKey = c.req.param('writeKey')
  if (!findSourceByWriteKey(await loadConfig(c.env), writeKey))
    throw new RouterError(404, 'unknown_write_key', 'the write key is not known to this router')
  const url = new URL(c.req.url)
  const document = {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        // The library builds `${protocol}://${apiHost}/<path>`.
        apiHost: `${url.host}/v1`,
        protocol: url.protocol.replace(/:$/, ''),
        unbundledIntegrations: [],
        addBundledMetadata: true,
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } } },
    analyticsNextEnabled: true,
    edgeFunction: {},
    middlewareSettings: {},
    enabledMiddleware: {},
    // Sample rate 0: the library sends no metrics of its own (they would go to api.segment.io).
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  }
  // Short-lived: the document depends only on the host, but a removed source should stop answering soon.
  return c.json(document, 200, { 'Cache-Control': 'public, max-age=60' })
})
