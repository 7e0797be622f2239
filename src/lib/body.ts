import { RouterError } from './errors'

export interface BodyLimits {
  /** Largest body accepted, after gzip decoding. */
  maxBytes: number
  /** Name of the limit in the 413 message, e.g. "500 KB per request". */
  limitName?: string
}

const GZIP_MAGIC = [0x1f, 0x8b]

function tooLarge(limits: BodyLimits): RouterError {
  const name = limits.limitName ?? `${limits.maxBytes} bytes`
  return new RouterError(413, 'payload_too_large', `request body exceeds the limit of ${name}`)
}

/**
 * How much of a refused request body is still read (and dropped) before the 413.
 * Answering while the client is still uploading makes `wrangler dev`'s proxy
 * answer `503 Your worker restarted mid-request`, or reset the connection,
 * instead of sending our 413; once the body has been read to its end, the 413
 * gets through. Past this bound the body is cancelled and the client may see
 * the connection close: no real client sends that much to this router.
 */
const MAX_DISCARDED_BYTES = 32 * 1024 * 1024

/** Reads what is left of a refused request body without keeping it, up to MAX_DISCARDED_BYTES in all. */
async function discardRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  alreadyRead: number,
): Promise<void> {
  let total = alreadyRead
  while (total <= MAX_DISCARDED_BYTES) {
    const { done, value } = await reader.read()
    if (done) return
    total += value.byteLength
  }
  await reader.cancel()
}

/**
 * Reads a stream into bytes, keeping nothing past `maxBytes`. A request body
 * (`rest: 'discard'`) is then read to its end (bounded) before the 413, see
 * MAX_DISCARDED_BYTES; a stream of our own (gzip inflation) is cancelled at once.
 */
async function readCapped(
  stream: ReadableStream<Uint8Array>,
  limits: BodyLimits,
  rest: 'discard' | 'cancel',
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limits.maxBytes) {
      if (rest === 'discard') await discardRest(reader, total)
      else await reader.cancel()
      throw tooLarge(limits)
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

/**
 * The request body as bytes, gzip decoded. gzip is recognised by its magic
 * bytes, not by headers: some Segment-compatible libraries send gzip labelled
 * `application/x-www-form-urlencoded`, and a runtime may already have decoded a
 * body that still carries `Content-Encoding: gzip`.
 */
export async function readBodyBytes(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  const length = request.headers.get('content-length')
  const declared = length === null ? Number.NaN : Number(length)
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    if (request.body && declared <= MAX_DISCARDED_BYTES) await discardRest(request.body.getReader(), 0)
    throw tooLarge(limits)
  }
  // A declared length within the limit: one native read (the runtime enforces the length), without
  // touching `request.body` (workerd builds a stream object for it); otherwise (chunked, or no body)
  // read chunk by chunk and stop as soon as the limit is passed.
  let raw: Uint8Array
  if (Number.isFinite(declared) && declared >= 0) raw = new Uint8Array(await request.arrayBuffer())
  else if (request.body) raw = await readCapped(request.body, limits, 'discard')
  else return new Uint8Array()
  if (raw.byteLength > limits.maxBytes) throw tooLarge(limits)
  if (raw[0] !== GZIP_MAGIC[0] || raw[1] !== GZIP_MAGIC[1]) return raw
  try {
    const inflated = new Blob([raw]).stream().pipeThrough(new DecompressionStream('gzip'))
    return await readCapped(inflated, limits, 'cancel')
  } catch (error) {
    if (error instanceof RouterError) throw error
    throw new RouterError(
      400,
      'invalid_gzip',
      `the body looks gzip-compressed but does not decode: ${(error as Error).message}`,
    )
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** A body's UTF-8 text; 400 when it is empty or not UTF-8. */
export function decodeBodyText(bytes: Uint8Array): string {
  if (bytes.byteLength === 0)
    throw new RouterError(400, 'invalid_json', 'the request body is empty; a JSON body is required')
  try {
    return decoder.decode(bytes)
  } catch {
    throw new RouterError(400, 'invalid_json', 'the request body is not valid UTF-8')
  }
}

/** Parses bytes as JSON whatever the Content-Type says; 400 naming what is wrong otherwise. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  return parseJsonText(decodeBodyText(bytes))
}

/** Parses a body's text as JSON; 400 naming what is wrong otherwise. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new RouterError(
      400,
      'invalid_json',
      `the request body is not valid JSON: ${(error as Error).message}`,
    )
  }
}

export async function readJsonBody(request: Request, limits: BodyLimits): Promise<unknown> {
  return parseJsonBytes(await readBodyBytes(request, limits))
}
