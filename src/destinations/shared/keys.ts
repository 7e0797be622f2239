/**
 * Key conversions partners need for Segment trait and property names.
 * Segment sends keys in whatever case the customer used (`createdAt`, `first_name`, `Plan Name`).
 * Both are memoised: the same few dozen keys recur on every event.
 */
import { memoizeString } from '../../lib/memo'

/**
 * snake_case for partners that require it (CrowdPower):
 * `createdAt` → `created_at`, `Plan Name` → `plan_name`, `HTTPStatus` → `http_status`,
 * `$browser` → `browser`, `utm_source` unchanged. Returns '' when nothing usable is left.
 */
export const toSnakeCase = memoizeString((key) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase(),
)

/**
 * Keeps only `[A-Za-z0-9_]` (Crisp data and event-data keys), preserving case:
 * `Plan Name` → `Plan_Name`, `$browser` → `browser`. Returns '' when nothing usable is left.
 */
export const sanitizeKey = memoizeString((key) => key.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, ''))
