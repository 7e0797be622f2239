import type { PartnerApp } from '../core'
import { calixaEmulator } from './calixa'
import { crispEmulator } from './crisp'
import { crossingMindsEmulator } from './crossing-minds'
import { crowdPowerEmulator } from './crowdpower'

/** The path segment each emulated partner's API is served under. */
export type SandboxPartner = 'crisp' | 'crossingminds' | 'crowdpower' | 'calixa'

/** Every emulated partner, by the path segment its API is served under. */
export const PARTNER_EMULATORS: Record<string, PartnerApp> & Record<SandboxPartner, PartnerApp> = {
  crisp: crispEmulator,
  crowdpower: crowdPowerEmulator,
  crossingminds: crossingMindsEmulator,
  calixa: calixaEmulator,
}
