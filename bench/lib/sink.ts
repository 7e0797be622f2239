/** A loopback HTTP sink for the peer engine: reads each request body and answers 200 `{}`. */
import { createServer } from 'node:http'

export interface Sink {
  url: string
  requests: number
  close(): Promise<void>
}

export function startSink(): Promise<Sink> {
  return new Promise((resolve) => {
    const sink: Sink = { url: '', requests: 0, close: async () => {} }
    const server = createServer((request, response) => {
      request.resume()
      request.on('end', () => {
        sink.requests += 1
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end('{}')
      })
    })
    server.keepAliveTimeout = 30_000
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      sink.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
      sink.close = () =>
        new Promise((done) => {
          server.closeAllConnections()
          server.close(() => done())
        })
      resolve(sink)
    })
  })
}
