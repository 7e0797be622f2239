import { describe, expect, it } from 'vitest'
import { postJsonAsWeb, routerFetch, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (path: string, body: unknown) =>
  postJsonAsWeb(path, body, { 'Content-Type': 'application/json' })

const SINGLE: Array<[string, string, Record<string, unknown>]> = [
  ['/v1/identify', 'identify', { traits: { plan: 'pro' } }],
  ['/v1/i', 'identify', {}],
  ['/v1/track', 'track', { event: 'Order Completed' }],
  ['/v1/t', 'track', { event: 'Order Completed' }],
  ['/v1/page', 'page', { name: 'Home' }],
  ['/v1/p', 'page', {}],
  ['/v1/screen', 'screen', { name: 'Home' }],
  ['/v1/s', 'screen', {}],
  ['/v1/group', 'group', { groupId: 'acct_1' }],
  ['/v1/g', 'group', { groupId: 'acct_1' }],
  ['/v1/alias', 'alias', { previousId: 'anon_1' }],
  ['/v1/a', 'alias', { previousId: 'anon_1' }],
]

describe('single-event paths', () => {
  it.each(SINGLE)('%s queues a %s call', async (path, type, fields) => {
    const queue = spyOnQueue()
    const response = await post(path, { userId: 'u1', ...fields })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, accepted: 1, rejected: [] })
    const [event] = queue.events()
    expect(queue.events()).toHaveLength(1)
    expect(event).toMatchObject({ type, userId: 'u1', ...fields })
  })

  it('takes the type from the path, not from the body', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/t', { type: 'identify', userId: 'u1', event: 'Signed Up' })
    expect(response.status).toBe(200)
    expect(queue.events()[0]?.type).toBe('track')
  })

  it('answers 400 when the path type needs a field the body lacks', async () => {
    const response = await post('/v1/track', { userId: 'u1' })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ issues: [{ path: 'event' }] })
  })
})

describe('batch paths', () => {
  it.each(['/v1/batch', '/v1/b', '/v1/import'])('%s queues every event of the batch', async (path) => {
    const queue = spyOnQueue()
    const response = await post(path, {
      batch: [
        { type: 'track', userId: 'u1', event: 'A' },
        { type: 'page', anonymousId: 'anon', name: 'Home' },
      ],
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, accepted: 2, rejected: [] })
    expect(queue.events().map((event) => event.type)).toEqual(['track', 'page'])
    expect(queue.messages()[0]?.source).toBe('web')
  })
})

it('has no other /v1 route', async () => {
  expect((await post('/v1/x', { userId: 'u1' })).status).toBe(404)
  expect((await routerFetch('/v1/batch')).status).toBe(404)
})
