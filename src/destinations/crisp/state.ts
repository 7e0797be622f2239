import { sha256Hex } from '../../lib/hex'
import type { PartnerState } from '../types'

/**
 * What we remember about one Crisp person (KV `person:<email>`): that the profile
 * exists, and a fingerprint of the last card we sent, so an identify needs no GET
 * and no card update unless the card changed (Crisp allows a few thousand requests
 * a day, §2.6). People data is not fingerprinted: it changes on most identifies,
 * and remembering it would cost a KV write (10× a ledger row write) per identify.
 */
export interface CrispPersonRecord {
  profileHash?: string
}

/** Person records expire so a profile deleted in Crisp is eventually re-created even without a 404. */
const PERSON_TTL_SECONDS = 30 * 24 * 3600
/** KV has no delete in `PartnerState`; a short-lived null reads back as "unknown" (`get` maps null to undefined). */
const FORGET_TTL_SECONDS = 60
/** KV keys are at most 512 bytes; longer ids are hashed. */
const MAX_RAW_ID_LENGTH = 200

/** JSON with sorted object keys, so equal content gives equal fingerprints whatever the key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableJson(entry)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export async function fingerprint(value: unknown): Promise<string> {
  return (await sha256Hex(stableJson(value))).slice(0, 32)
}

async function kvId(id: string): Promise<string> {
  return id.length > MAX_RAW_ID_LENGTH ? `sha256-${await sha256Hex(id)}` : id
}

/**
 * Crisp state for one `deliver` call: KV, fronted by in-memory maps. KV is eventually
 * consistent, so a track right after its identify in the same batch must find the
 * email in memory, not in KV.
 */
export class CrispStateCache {
  private readonly emails = new Map<string, string>()
  private readonly people = new Map<string, CrispPersonRecord | undefined>()

  constructor(private readonly state: PartnerState) {}

  async emailOf(userId: string): Promise<string | undefined> {
    const remembered = this.emails.get(userId)
    if (remembered !== undefined) return remembered
    return this.state.get<string>(`user:${await kvId(userId)}`)
  }

  /** Remembers userId → email (only once Crisp has the profile). Writes KV only when it changed. */
  async rememberEmail(userId: string, email: string): Promise<void> {
    const known = await this.emailOf(userId)
    this.emails.set(userId, email)
    if (known !== email) await this.state.put(`user:${await kvId(userId)}`, email)
  }

  async person(email: string): Promise<CrispPersonRecord | undefined> {
    if (this.people.has(email)) return this.people.get(email)
    const record = await this.state.get<CrispPersonRecord>(`person:${await kvId(email)}`)
    this.people.set(email, record)
    return record
  }

  /** Remembers the person; writes KV only when the record changed (KV takes one write per second per key). */
  async savePerson(email: string, record: CrispPersonRecord): Promise<void> {
    const known = this.people.get(email)
    this.people.set(email, { ...record })
    if (known !== undefined && known.profileHash === record.profileHash) return
    await this.state.put(`person:${await kvId(email)}`, record, { expirationTtl: PERSON_TTL_SECONDS })
  }

  /** The profile is gone from Crisp (404 `people_not_found`): the next identify creates it again. */
  async forgetPerson(email: string): Promise<void> {
    this.people.set(email, undefined)
    await this.state.put(`person:${await kvId(email)}`, null, { expirationTtl: FORGET_TTL_SECONDS })
  }
}
