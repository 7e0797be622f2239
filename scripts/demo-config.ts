/**
 * The config `npm start` seeds: one source, all four destinations pointed at the
 * partner sandbox with the only credentials the sandbox accepts.
 */
import { CROWDPOWER_NAME } from '../src/destinations/crowdpower/settings'
import { sandboxDestinationSettings } from './sandbox-destinations'

export const DEMO_SOURCE = 'demo'
export const DEMO_WRITE_KEY = 'wk_demo_local_0001'

export function demoConfig(sandboxUrl: string) {
  const destinations = sandboxDestinationSettings((partner) => `${sandboxUrl}/${partner}`)
  return {
    sources: [
      {
        name: DEMO_SOURCE,
        writeKey: DEMO_WRITE_KEY,
        webhookSecret: 'whsec_demo_local',
        destinations: {
          ...destinations,
          // The demo sends Segment Spec revenue, which is in dollars.
          [CROWDPOWER_NAME]: { ...destinations[CROWDPOWER_NAME], revenueUnit: 'major' },
        },
      },
    ],
  }
}

/** Every partner URL a redacted config points at (apiBase settings and Calixa's endpoint). */
function partnerUrls(document: unknown): string[] {
  const sources = (document as { sources?: { destinations?: Record<string, Record<string, unknown>> }[] })
    .sources
  return (sources ?? []).flatMap((source) =>
    Object.values(source.destinations ?? {}).flatMap((settings) =>
      [settings.apiBase, settings.endpoint].filter((url): url is string => typeof url === 'string'),
    ),
  )
}

/**
 * Whether `npm start` should (re)seed: nothing is configured yet, or the stored
 * config is a seeded demo config whose sandbox was on another port (an earlier
 * start with another SANDBOX_PORT). A config you PUT yourself is left alone.
 */
export function needsDemoConfig(stored: unknown, sandboxUrl: string): boolean {
  const sources = (stored as { sources?: { name?: unknown }[] }).sources ?? []
  if (sources.length === 0) return true
  if (sources.length !== 1 || sources[0]?.name !== DEMO_SOURCE) return false
  const urls = partnerUrls(stored)
  return (
    urls.length > 0 &&
    urls.every((url) => url.startsWith('http://127.0.0.1:')) &&
    !urls.every((url) => url.startsWith(`${sandboxUrl}/`))
  )
}
