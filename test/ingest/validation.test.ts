import { describe, expect, it } from 'vitest'
import { postAsWeb, postJsonAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (path: string, body: unknown) => postJsonAsWeb(path, body)

describe('a batch with bad events', () => {
  it('queues the good ones and reports the others by index and path', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u', event: 'Good' },
        { type: 'track', userId: 'u', messageId: 'no-event-name' },
        { type: 'identify', anonymousId: 'a', traits: { plan: 'pro' } },
        { type: 'page', name: 'Nobody' },
        'not an event',
        { type: 'identify', userId: 'u', traits: ['not', 'an', 'object'] },
      ],
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { accepted: number; rejected: unknown[] }
    expect(body).toMatchObject({ success: true, accepted: 2 })
    expect(body.rejected).toEqual([
      {
        index: 1,
        messageId: 'no-event-name',
        issues: [{ path: 'batch.1.event', message: 'event is required on track' }],
      },
      { index: 3, issues: [{ path: 'batch.3.userId', message: 'userId or anonymousId is required' }] },
      { index: 4, issues: [{ path: 'batch.4', message: expect.any(String) }] },
      { index: 5, issues: [{ path: 'batch.5.traits', message: 'must be an object, not an array' }] },
    ])
    expect(queue.events().map((event) => event.type)).toEqual(['track', 'identify'])
  })

  it('answers 400 with the same list when every event is rejected, queueing nothing', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u' },
        { type: 'unknown', userId: 'u' },
      ],
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      success: false,
      error: 'all_events_rejected',
      rejected: [
        { index: 0, issues: [{ path: 'batch.0.event' }] },
        { index: 1, issues: [{ path: 'batch.1.type' }] },
      ],
    })
    expect(queue.requests()).toEqual([])
  })
})

describe('the type of a call', () => {
  it.each([
    ['an unknown type', 'purchase'],
    ['a name Object.prototype holds', 'constructor'],
    ['no type', undefined],
  ])('rejects %s with the list of call types, at batch.N.type', async (_name, type) => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u', event: 'Good' },
        { type, userId: 'u', event: 'E' },
      ],
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as { rejected: unknown[] }).rejected).toEqual([
      {
        index: 1,
        issues: [
          {
            path: 'batch.1.type',
            message: 'type must be one of identify, track, page, screen, group, alias',
          },
        ],
      },
    ])
  })
})

describe('a body that is not a batch', () => {
  it.each([
    ['an array', [{ type: 'track', userId: 'u', event: 'E' }], 'batch'],
    ['missing batch', { sentAt: '2024-01-01T00:00:00Z' }, 'batch'],
    ['an empty batch', { batch: [] }, 'batch'],
    ['batch as an object', { batch: { type: 'track' } }, 'batch'],
  ])('answers 400 for %s', async (_, body, path) => {
    const response = await post('/v1/batch', body)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_batch', issues: [{ path }] })
  })
})

describe('an invalid single event', () => {
  it('answers 400 with every issue', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/group', { groupId: '', timestamp: 'noon' })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: string; issues: Array<{ path: string }> }
    expect(body.error).toBe('invalid_event')
    expect(body.issues.map((issue) => issue.path).sort()).toEqual(['groupId', 'timestamp', 'userId'])
    expect(queue.requests()).toEqual([])
  })

  it('names a missing required field and its call', async () => {
    const issuesOf = async (path: string, body: Record<string, unknown>) =>
      ((await (await post(path, body)).json()) as { issues: { path: string; message: string }[] }).issues
    expect(await issuesOf('/v1/group', { userId: 'u' })).toEqual([
      { path: 'groupId', message: 'groupId is required on group' },
    ])
    expect(await issuesOf('/v1/alias', { userId: 'u' })).toEqual([
      { path: 'previousId', message: 'previousId is required on alias' },
    ])
  })

  it('answers 400 for a JSON value that is not an object', async () => {
    const response = await post('/v1/track', 'just a string')
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ issues: [{ path: '' }] })
  })

  it('coerces numeric ids to strings, as Segment stores them', async () => {
    const queue = spyOnQueue()
    expect((await post('/v1/identify', { userId: 42 })).status).toBe(200)
    expect(queue.events()[0]?.userId).toBe('42')
  })
})

describe('keys that name object internals', () => {
  it('keeps __proto__, constructor and prototype as plain keys, polluting nothing', async () => {
    const queue = spyOnQueue()
    // Written as text: JSON.parse makes `__proto__` an own key, as any client's JSON would.
    const body =
      '{"userId":"u","traits":{"__proto__":{"admin":true},"constructor":"c","prototype":"p","plan":"pro"}}'
    expect((await postAsWeb('/v1/identify', body)).status).toBe(200)
    const [event] = queue.events()
    const traits = event?.type === 'identify' ? event.traits : undefined
    expect(Object.keys(traits ?? {}).sort()).toEqual(['__proto__', 'constructor', 'plan', 'prototype'])
    expect(Object.getPrototypeOf(traits)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })
})
