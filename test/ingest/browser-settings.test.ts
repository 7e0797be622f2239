import { describe, expect, it } from 'vitest'
import { routerFetch, useSources, WEB } from '../helpers/router'

useSources(WEB)

describe('GET /v1/projects/<writeKey>/settings (analytics-next cdnURL)', () => {
  it('points the Segment.io integration at this router, readable from any site', async () => {
    const response = await routerFetch(`/v1/projects/${WEB.writeKey}/settings`, {
      headers: { Origin: 'https://shop.example' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    const settings = (await response.json()) as Record<string, Record<string, Record<string, unknown>>>
    // routerFetch uses http://router.test: the library will post to http://router.test/v1/<path>.
    expect(settings.integrations?.['Segment.io']).toMatchObject({
      apiKey: WEB.writeKey,
      apiHost: 'router.test/v1',
      protocol: 'http',
    })
    expect(Object.keys(settings.integrations ?? {})).toEqual(['Segment.io'])
    expect(settings.metrics).toEqual({ sampleRate: 0 })
  })

  it('answers 404 for a write key the router does not know', async () => {
    const response = await routerFetch('/v1/projects/wk_nobody_knows/settings')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: 'unknown_write_key' })
  })
})
