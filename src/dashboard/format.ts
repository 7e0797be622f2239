/** Small text formatters the dashboard's views share. */

const counts = new Intl.NumberFormat('en-US')

export function formatCount(value: number): string {
  return counts.format(value)
}

/** `HH:MM:SS` in UTC: the router has no idea of the operator's zone, and logs are UTC too. */
export function formatClock(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19)
}

/** `YYYY-MM-DD HH:MM:SS UTC`, for tooltips. */
export function formatTimestamp(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "in 8 s" for a time still ahead. */
export function formatRelative(epochMs: number, now: number): string {
  const seconds = Math.round((now - epochMs) / 1000)
  const magnitude = Math.abs(seconds)
  const text =
    magnitude < 60
      ? `${magnitude} s`
      : magnitude < 3600
        ? `${Math.floor(magnitude / 60)} min`
        : magnitude < 86_400
          ? `${Math.floor(magnitude / 3600)} h`
          : `${Math.floor(magnitude / 86_400)} d`
  return seconds >= 0 ? `${text} ago` : `in ${text}`
}

/** Keeps a long id readable in a table cell: head…tail (the full id goes in the title). */
export function shortenId(id: string, keep = 10): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-6)}`
}
