import * as v from 'valibot'
import { type InputIssue, toInputIssues } from '../lib/errors'
import { exactObject } from '../lib/objects'
import { SAMPLE_NAMES, sampleEvent } from '../segment/samples'
import type { SegmentEvent } from '../segment/schema'
import { normalizeEvent } from './normalize'

/**
 * The event of a destination test (`POST /admin/destinations/:id/test` and its
 * dashboard page): a sample of the Spec or a pasted event, validated and stamped
 * by the very normaliser the Tracking API uses, so a test sees what ingest would queue.
 */

const TestInputSchema = v.pipe(
  exactObject(
    {
      sample: v.optional(v.picklist(SAMPLE_NAMES, `sample must be one of ${SAMPLE_NAMES.join(', ')}`)),
      // Any JSON here: the normaliser reports what is wrong with it, at `event.…` paths.
      event: v.optional(v.unknown()),
    },
    'the test request must be a JSON object: {"sample": "<name>"} or {"event": {…}}',
  ),
  v.check(
    (input) => (input.sample === undefined) !== (input.event === undefined),
    'give either sample or event',
  ),
)

export type TestEventResult =
  /** `input` says what was tested without any of the event's data (`sample track`, `pasted event`), for the audit list. */
  { ok: true; event: SegmentEvent; input: string } | { ok: false; tooLarge: boolean; issues: InputIssue[] }

/** Turns a test request's body into the event to route, or the issues that refuse it. */
export function resolveTestEvent(input: unknown, source: string, now: number): TestEventResult {
  const parsed = v.safeParse(TestInputSchema, input)
  if (!parsed.success) return { ok: false, tooLarge: false, issues: toInputIssues(parsed.issues) }
  const { sample, event } = parsed.output
  const options = { source, now: new Date(now).toISOString(), times: 'tracking' as const }
  const outcome =
    sample === undefined
      ? normalizeEvent(event, { ...options, path: 'event' })
      : // A sample has no messageId of its own: each test is a new event, as a library would send it.
        normalizeEvent(
          { ...sampleEvent(sample), messageId: `test-${crypto.randomUUID()}` },
          {
            ...options,
            path: 'sample',
          },
        )
  if (!outcome.ok) return { ok: false, tooLarge: outcome.tooLarge, issues: outcome.issues }
  return { ok: true, event: outcome.event, input: sample === undefined ? 'pasted event' : `sample ${sample}` }
}
