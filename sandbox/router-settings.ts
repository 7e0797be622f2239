import { SANDBOX_CREDENTIALS as creds } from './credentials'

/** The partners the sandbox emulates, by the path segment each is served under. */
export type SandboxPartnerPath = 'crisp' | 'crossingminds' | 'crowdpower' | 'calixa'

/**
 * The router's settings for all four destinations pointed at the sandbox, with
 * the only credentials it accepts. `apiBase(partner)` says where each emulator
 * is served (the default tenant for npm start, a test's private tenant in tests).
 */
export function sandboxDestinationSettings(
  apiBase: (partner: SandboxPartnerPath) => string,
): Record<string, Record<string, unknown>> {
  return {
    Crisp: {
      apiKey: `${creds.crisp.identifier}:${creds.crisp.key}`,
      websiteId: creds.crisp.websiteId,
      apiBase: apiBase('crisp'),
    },
    'Crossing Minds': {
      apiKey: creds.crossingMinds.name,
      apiPassword: creds.crossingMinds.password,
      apiDatabaseId: creds.crossingMinds.dbId,
      apiBase: apiBase('crossingminds'),
    },
    CrowdPower: { apiKey: creds.crowdPower.publicKey, apiBase: apiBase('crowdpower') },
    Calixa: { apiKey: creds.calixa.apiKey, endpoint: `${apiBase('calixa')}/segment/webhook` },
  }
}
