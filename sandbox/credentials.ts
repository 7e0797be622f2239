/**
 * The only credentials the sandbox accepts. Anything else gets the partner's
 * real 401, so a test with a wrong auth header fails.
 */
export const SANDBOX_CREDENTIALS = {
  crisp: { identifier: 'sandbox-crisp-identifier', key: 'sandbox-crisp-key', websiteId: 'sandbox-website' },
  crossingMinds: { name: 'sandbox-service-account', password: 'sandbox-password', dbId: 'sandbox-db' },
  crowdPower: { publicKey: 'pk_sandbox_0123456789' },
  calixa: { apiKey: 'sandbox-calixa-key' },
} as const
