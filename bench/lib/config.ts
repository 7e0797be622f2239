/** The router config documents the benchmark PUTs: the same four partners `npm start` seeds, on a sandbox tenant. */
import { SANDBOX_CREDENTIALS as creds } from '../../sandbox/credentials'

export const INGEST_SOURCE = { name: 'bench-ingest', writeKey: 'wk_bench_ingest_0001' }
export const DELIVERY_SOURCE = { name: 'bench-delivery', writeKey: 'wk_bench_delivery_01' }

/** Destination settings for all four partners, on `sandboxUrl`'s tenant `tenant`. */
export function partnerDestinations(sandboxUrl: string, tenant: string): Record<string, unknown> {
  const base = `${sandboxUrl}/t/${tenant}`
  return {
    Crisp: {
      apiKey: `${creds.crisp.identifier}:${creds.crisp.key}`,
      websiteId: creds.crisp.websiteId,
      apiBase: `${base}/crisp`,
    },
    'Crossing Minds': {
      apiKey: creds.crossingMinds.name,
      apiPassword: creds.crossingMinds.password,
      apiDatabaseId: creds.crossingMinds.dbId,
      apiBase: `${base}/crossingminds`,
    },
    CrowdPower: { apiKey: creds.crowdPower.publicKey, apiBase: `${base}/crowdpower` },
    Calixa: { apiKey: creds.calixa.apiKey, endpoint: `${base}/calixa/segment/webhook` },
  }
}

/**
 * Ingest runs write to a source with no destinations: ingest never looks at
 * destinations, and the queue consumer then only acks, so the load measures the
 * HTTP path and the queue hand-off, not deliveries (measured on their own).
 */
export function benchConfig(sandboxUrl: string, tenant: string) {
  return {
    sources: [
      { ...INGEST_SOURCE, destinations: {} },
      { ...DELIVERY_SOURCE, destinations: partnerDestinations(sandboxUrl, tenant) },
    ],
  }
}

export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
}
