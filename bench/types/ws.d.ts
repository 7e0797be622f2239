/** The part of `ws` (miniflare's dependency, hoisted) the consumer harness uses; the package ships no types. */
declare module 'ws' {
  export default class WebSocket {
    constructor(url: string, options?: { perMessageDeflate?: boolean })
    on(event: 'open' | 'close', listener: () => void): this
    on(event: 'message', listener: (data: Buffer) => void): this
    on(event: 'error', listener: (error: Error) => void): this
    send(data: string): void
    close(): void
  }
}
