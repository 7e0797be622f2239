/** Caps how many async tasks run at once; the rest wait in FIFO order. */
export class Semaphore {
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor(readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#active += 1
    try {
      return await task()
    } finally {
      this.#active -= 1
      this.#waiting.shift()?.()
    }
  }
}
