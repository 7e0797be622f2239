import { toHex } from './hex'

const encoder = new TextEncoder()

/** Compares two secrets in constant time (for equal lengths; a length mismatch is not secret). */
export function secretsEqual(given: string, expected: string): boolean {
  return secretBytesEqual(encoder.encode(given), encoder.encode(expected))
}

/** `secretsEqual` for secrets already encoded (e.g. once per config rather than per comparison). */
export function secretBytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) {
    // Still spend the comparison so timing does not depend on where the strings differ.
    crypto.subtle.timingSafeEqual(b, b)
    return false
  }
  return crypto.subtle.timingSafeEqual(a, b)
}

/** Hex HMAC of `data` under `secret`. */
async function hmacHex(hash: 'SHA-1' | 'SHA-256', secret: string, data: BufferSource): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash }, false, [
    'sign',
  ])
  return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, data)))
}

/** Hex HMAC-SHA1, the signature Segment's Webhooks destination puts in `X-Signature`. */
export function hmacSha1Hex(secret: string, data: BufferSource): Promise<string> {
  return hmacHex('SHA-1', secret, data)
}

/** Hex HMAC-SHA256 of a UTF-8 string (derived values such as the dashboard's session cookie). */
export function hmacSha256Hex(secret: string, data: string): Promise<string> {
  return hmacHex('SHA-256', secret, encoder.encode(data))
}

/** `Basic base64(user:password)` for outgoing requests. */
export function basicAuthorization(user: string, password = ''): string {
  const bytes = encoder.encode(`${user}:${password}`)
  return `Basic ${btoa(String.fromCharCode(...bytes))}`
}

/** base64 of UTF-8 JSON (Segment's `X-Segment-Settings` header). */
export function base64Json(value: unknown): string {
  const bytes = encoder.encode(JSON.stringify(value))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}
