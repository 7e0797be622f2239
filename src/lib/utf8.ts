const encoder = new TextEncoder()

/** UTF-8 size of a text (JSON bodies and queue messages are measured in these bytes). */
export function jsonBytes(json: string): number {
  return encoder.encode(json).byteLength
}
