import * as v from 'valibot'
import { plainObject } from '../lib/objects'
import type { ListCursor } from './types'

const MAX_TEXT = 200

/** A decoded cursor is input like any other: checked field by field, never trusted. */
const CursorSchema = plainObject({
  recordedUs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  source: v.pipe(v.string(), v.maxLength(MAX_TEXT)),
  messageId: v.pipe(v.string(), v.maxLength(MAX_TEXT)),
  destination: v.pipe(v.string(), v.maxLength(MAX_TEXT)),
})

export function encodeCursor(cursor: ListCursor): string {
  return btoa(encodeURIComponent(JSON.stringify(cursor)))
}

/** The cursor a list page returned, or undefined when `text` is not one. */
export function decodeCursor(text: string): ListCursor | undefined {
  let decoded: unknown
  try {
    decoded = JSON.parse(decodeURIComponent(atob(text)))
  } catch {
    return undefined
  }
  const parsed = v.safeParse(CursorSchema, decoded)
  return parsed.success ? parsed.output : undefined
}
