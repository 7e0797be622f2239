import type { SourceConfig } from '../config/schema'
import { findSourceByWriteKey, loadConfig } from '../config/store'
import type { Bindings } from '../env'
import { RouterError } from '../lib/errors'
import { isPlainObject } from '../lib/objects'

const utf8 = new TextDecoder()
/** A byte of a multi-byte UTF-8 character, as `atob` gives it. Without one, the bytes are the key's ASCII. */
const NON_ASCII_BYTE = /[\x80-\xff]/

/**
 * The write key in `Authorization: Basic base64("writeKey:")`. The colon is
 * optional: some old clients encode the bare key. Anything else (Bearer, bad
 * base64) yields undefined so the body's key can be used.
 */
function writeKeyFromBasic(authorization: string | undefined): string | undefined {
  const match = authorization?.match(/^Basic\s+(\S+)\s*$/i)
  if (!match?.[1]) return undefined
  let binary: string
  try {
    binary = atob(match[1])
  } catch {
    return undefined
  }
  const decoded = NON_ASCII_BYTE.test(binary)
    ? utf8.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)))
    : binary
  const colon = decoded.indexOf(':')
  const user = colon === -1 ? decoded : decoded.slice(0, colon)
  return user === '' ? undefined : user
}

/** `writeKey` at the top level of a parsed body (analytics.js and analytics-node 2+ put it there). */
function writeKeyFromBody(body: unknown): string | undefined {
  const key = isPlainObject(body) ? body.writeKey : undefined
  return typeof key === 'string' && key !== '' ? key : undefined
}

/**
 * The source named by the request's Basic write key, checked before the body is
 * read, so an unknown caller costs no body read or parse. Undefined when the
 * header names no key (none, Bearer, bad base64): the body's key is then used.
 */
export async function sourceFromHeader(
  env: Bindings,
  authorization: string | undefined,
): Promise<SourceConfig | undefined> {
  const writeKey = writeKeyFromBasic(authorization)
  return writeKey === undefined ? undefined : sourceOf(env, writeKey)
}

/** The source named by the body's `writeKey`, for a request whose header named none. 401 without one. */
export async function sourceFromBody(env: Bindings, body: unknown): Promise<SourceConfig> {
  const writeKey = writeKeyFromBody(body)
  if (writeKey === undefined) {
    throw new RouterError(
      401,
      'invalid_write_key',
      'a write key is required: HTTP Basic with the write key as username, or "writeKey" in the body',
    )
  }
  return sourceOf(env, writeKey)
}

async function sourceOf(env: Bindings, writeKey: string): Promise<SourceConfig> {
  const source = findSourceByWriteKey(await loadConfig(env), writeKey)
  if (!source) throw new RouterError(401, 'invalid_write_key', 'the write key is not known to this router')
  return source
}
