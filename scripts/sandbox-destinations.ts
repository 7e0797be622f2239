import { SANDBOX_CREDENTIALS as creds } from '../sandbox/credentials'
import type { SandboxPartner } from '../sandbox/partners'
import { CALIXA_NAME } from '../src/destinations/calixa/settings'
import { CRISP_NAME } from '../src/destinations/crisp/settings'
import { CROSSING_MINDS_NAME } from '../src/destinations/crossing-minds/settings'
import { CROWDPOWER_NAME } from '../src/destinations/crowdpower/settings'

/**
 * The router's settings for all four destinations pointed at the sandbox, with
 * the only credentials it accepts. `apiBase(partner)` says where each emulator
 * is served (the default tenant for npm start, a test's private tenant in tests).
 * It is the router's side of the sandbox, so it lives here: sandbox/ imports
 * nothing from src/ but src/lib/ (CONTRIBUTING.md). The emulators enforce no
 * quota, so the partners' default rate limits (5,000 Crisp requests a day) are
 * turned off: the demo and the bench would otherwise wait on them.
 */
export function sandboxDestinationSettings(
  apiBase: (partner: SandboxPartner) => string,
): Record<string, Record<string, unknown>> {
  return {
    [CRISP_NAME]: {
      apiKey: `${creds.crisp.identifier}:${creds.crisp.key}`,
      websiteId: creds.crisp.websiteId,
      apiBase: apiBase('crisp'),
      rateLimit: false,
    },
    [CROSSING_MINDS_NAME]: {
      apiKey: creds.crossingMinds.name,
      apiPassword: creds.crossingMinds.password,
      apiDatabaseId: creds.crossingMinds.dbId,
      apiBase: apiBase('crossingminds'),
      rateLimit: false,
    },
    [CROWDPOWER_NAME]: { apiKey: creds.crowdPower.publicKey, apiBase: apiBase('crowdpower') },
    [CALIXA_NAME]: { apiKey: creds.calixa.apiKey, endpoint: `${apiBase('calixa')}/segment/webhook` },
  }
}
