/** The part of autocannon's programmatic API the bench uses (the package ships no types). */
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    duration?: number
    timeout?: number
    requests?: { method?: string; path?: string; headers?: Record<string, string>; body?: string }[]
  }
  interface Result {
    requests: { total: number }
    errors: number
    timeouts: number
    non2xx: number
    duration: number
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
