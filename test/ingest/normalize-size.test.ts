import fc from 'fast-check'
import { expect, it } from 'vitest'
import { normalizeEvent } from '../../src/ingest/normalize'
import { jsonBytes } from '../../src/lib/utf8'

const isoTime = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) })
  .map((ms) => new Date(ms).toISOString())

/** Any text, or printable ASCII (a request of which holds only plain strings, unless it has a `\\`). */
const units = {
  'any text': 'binary',
  'printable ASCII': fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
} as const

/** Tracking API items: ids as strings or numbers, times or not, any properties and messageId text. */
function item(unit: (typeof units)[keyof typeof units]) {
  const text = (minLength = 0, maxLength = 40) => fc.string({ minLength, maxLength, unit })
  return fc.record(
    {
      type: fc.constant('track'),
      event: text(1),
      userId: fc.oneof(text(1), fc.integer()),
      messageId: text(1, 100),
      timestamp: isoTime,
      sentAt: isoTime,
      properties: fc.dictionary(text(), fc.oneof(text(), fc.jsonValue({ maxDepth: 3 }))),
    },
    { requiredKeys: ['type', 'event', 'userId'] },
  )
}

it.each(Object.entries(units))(
  'says how many bytes an accepted event takes at most, for %s',
  (_name, unit) => {
    const request = fc.record({
      batch: fc.array(item(unit), { minLength: 1, maxLength: 3 }),
      sentAt: isoTime,
    })
    fc.assert(
      fc.property(request, (body) => {
        // The route's view of the request: its text, parsed.
        const parsed = JSON.parse(JSON.stringify(body)) as typeof body
        parsed.batch.forEach((raw, index) => {
          const outcome = normalizeEvent(raw, {
            source: 'web',
            now: '2026-11-22T12:00:00.000Z',
            times: 'tracking',
            path: `batch.${index}`,
            defaults: { sentAt: parsed.sentAt },
          })
          if (outcome.ok)
            expect(outcome.bytes).toBeGreaterThanOrEqual(jsonBytes(JSON.stringify(outcome.event)))
        })
      }),
      { numRuns: 1000 },
    )
  },
)
