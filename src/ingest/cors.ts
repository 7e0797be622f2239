import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env'

/** What a browser's preflight is told: any site may post, with the headers Segment's libraries send. */
const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST,OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type,Authorization,X-Retry-Count',
}

/**
 * CORS for the Tracking API: browser libraries post from any site, and the write
 * key, not the origin, authenticates. The header goes on the final response,
 * errors included. (Hono's `cors` sets it before the handler runs, which builds a
 * placeholder Response and copies it into the real one on every request.)
 */
export const trackingApiCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'OPTIONS') return c.body(null, 204, PREFLIGHT_HEADERS)
  await next()
  c.res.headers.set('Access-Control-Allow-Origin', '*')
}
