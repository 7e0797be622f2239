import { partitionTables } from './schema'

/** The events whose latest change falls in [firstUs, endUs) (epoch µs), in `events<suffix>`, and that period's `changes<suffix>`. */
export interface Partition {
  suffix: string
  firstUs: number
  endUs: number
}

const DAY_US = 24 * 60 * 60 * 1_000_000

/**
 * A shard's partitions (schema entry 5), newest first: retention drops a whole partition,
 * which writes no rows, where deleting its events would write one each. A write goes to the
 * partition of its change; an event changed in a later period than its row's moves there, so a
 * partition holds no event changed after its period. Read from the `partitions` table once and
 * kept; a transaction that fails must `forget()` them (its creations and drops rolled back).
 */
export class Partitions {
  #cache: Partition[] | undefined

  constructor(
    private readonly sql: SqlStorage,
    /** Days a new partition spans. */
    private readonly periodDays: number,
  ) {}

  all(): Partition[] {
    this.#cache ??= this.sql
      .exec<{ suffix: string; first_us: number; end_us: number }>(
        'SELECT suffix, first_us, end_us FROM partitions ORDER BY first_us DESC',
      )
      .toArray()
      .map((row) => ({ suffix: row.suffix, firstUs: row.first_us, endUs: row.end_us }))
    return this.#cache
  }

  /**
   * The latest change's position, or just before the newest partition's start when it
   * has none yet (retention opens one at its own time), so a change never precedes its partition.
   */
  lastRecordedUs(): number {
    const newest = this.all()[0]
    if (!newest) return 0
    const last = this.sql
      .exec<{ last: number | null }>(`SELECT max(recorded_us) AS last FROM changes${newest.suffix}`)
      .one().last
    return Math.max(last ?? 0, newest.firstUs - 1)
  }

  /** The partition of a change at `recordedUs` (never before the latest one), opening a new period's when past the newest. */
  forChange(recordedUs: number): string {
    const newest = this.all()[0]
    if (newest && recordedUs < newest.endUs) return newest.suffix
    const period = this.periodDays * DAY_US
    const firstUs = Math.max(Math.floor(recordedUs / period) * period, newest?.endUs ?? 0)
    const endUs = (Math.floor(recordedUs / period) + 1) * period
    const suffix = `_${Math.floor(firstUs / 1000)}`
    this.sql.exec(partitionTables(suffix))
    this.sql.exec(
      'INSERT INTO partitions (suffix, first_us, end_us) VALUES (?, ?, ?)',
      suffix,
      firstUs,
      endUs,
    )
    this.#cache = [{ suffix, firstUs, endUs }, ...this.all()]
    return suffix
  }

  drop(suffix: string): void {
    this.sql.exec(`DROP TABLE events${suffix}; DROP TABLE changes${suffix}`)
    this.sql.exec('DELETE FROM partitions WHERE suffix = ?', suffix)
    this.#cache = this.all().filter((partition) => partition.suffix !== suffix)
  }

  /**
   * One query over every partition, newest first: `arm(suffix)` for each joined by
   * UNION ALL, its `params` bound again for each.
   */
  union(
    arm: (suffix: string) => string,
    params: readonly SqlStorageValue[],
  ): { sql: string; params: SqlStorageValue[] } {
    const partitions = this.all()
    return {
      sql: unionAll(partitions.map((partition) => arm(partition.suffix))),
      params: partitions.flatMap(() => params),
    }
  }

  forget(): void {
    this.#cache = undefined
  }
}

/** Terms a compound SELECT may have in a Durable Object's SQLite (more fail: "too many terms in compound SELECT"). */
const MAX_COMPOUND_TERMS = 5

/** `selects` joined by UNION ALL, in order, nested in groups small enough for SQLite's compound limit. */
function unionAll(selects: readonly string[]): string {
  if (selects.length <= MAX_COMPOUND_TERMS) return selects.join('\nUNION ALL\n')
  const groups: string[] = []
  const size = Math.ceil(selects.length / MAX_COMPOUND_TERMS)
  for (let start = 0; start < selects.length; start += size)
    groups.push(`SELECT * FROM (${unionAll(selects.slice(start, start + size))})`)
  return unionAll(groups)
}
