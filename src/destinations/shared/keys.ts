/**
 * Key conversions partners need for Segment trait and property names.
 * Segment sends keys in whatever case the customer used (`createdAt`, `first_name`, `Plan Name`).
 */

/**
 * snake_case for partners that require it (CrowdPower):
 * `createdAt` → `created_at`, `Plan Name` → `plan_name`, `HTTPStatus` → `http_status`,
 * `$browser` → `browser`, `utm_source` unchanged. Returns '' when nothing usable is left.
 */
export function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
}

/**
 * Keeps only `[A-Za-z0-9_]` (Crisp data and event-data keys), preserving case:
 * `Plan Name` → `Plan_Name`, `$browser` → `browser`. Returns '' when nothing usable is left.
 */
export function sanitizeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '')
}
