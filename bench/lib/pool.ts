/** Runs `run` over `items` with at most `concurrency` in flight, in order of start. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next] as T
        next += 1
        await run(item)
      }
    }),
  )
}
