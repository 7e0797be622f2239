/**
 * Raw DEFLATE (RFC 1951) of texts kept at rest: the ledger keeps event bodies
 * this way, about 40 % smaller for typical Segment events, which also keeps a
 * row with its body inside one SQLite page (a row past ~1 KB in a WITHOUT ROWID
 * table spills a whole overflow page). Native streams: no bundled library.
 */

export async function deflateText(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('deflate-raw'))
  return new Response(stream).arrayBuffer()
}

/** The text back from `deflateText`'s bytes; a text (stored before compression) is returned as it is. */
export async function inflateText(stored: ArrayBuffer | string): Promise<string> {
  if (typeof stored === 'string') return stored
  const stream = new Blob([stored]).stream().pipeThrough(new DecompressionStream('deflate-raw'))
  return new Response(stream).text()
}
