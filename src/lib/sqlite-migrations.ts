/**
 * Applies a Durable Object's own SQLite schema on construction: each entry of
 * `migrations` runs once, in order, counted in a `schema_version` table
 * (Durable Objects do not allow `PRAGMA user_version`). Append to change a
 * schema, never edit an entry. One transaction: a failure leaves it as it was.
 */
export function applyMigrations(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const { sql } = storage
  storage.transactionSync(() => {
    sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
    const applied =
      sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0]?.version ?? 0
    for (const [index, migration] of migrations.entries()) if (index >= applied) sql.exec(migration)
    sql.exec('DELETE FROM schema_version')
    sql.exec('INSERT INTO schema_version (version) VALUES (?)', migrations.length)
  })
}
