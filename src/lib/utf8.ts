const encoder = new TextEncoder()
/** A string without these UTF-16 units (all non-ASCII) is as many UTF-8 bytes as units. */
const NON_ASCII = /[\u0080-\uffff]/

/** UTF-8 size of a text (JSON bodies and queue messages are measured in these bytes). */
export function jsonBytes(json: string): number {
  // Most event JSON is ASCII: one regex test instead of encoding a copy.
  return NON_ASCII.test(json) ? encoder.encode(json).byteLength : json.length
}
