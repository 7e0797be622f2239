const utf8 = new TextEncoder()

/** Lower-case hex of bytes, two digits each (digests and HMAC signatures). */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** Hex SHA-256 of a UTF-8 string (fingerprints and hashed keys, not secrets). */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(text))))
}
