import { expect, it } from 'vitest'
import { postJsonAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (body: unknown) => postJsonAsWeb('/v1/batch', body)

it('merges batch context and integrations into each item, item keys winning one level deep', async () => {
  const queue = spyOnQueue()
  const response = await post({
    context: { library: { name: 'lib', version: '1' }, ip: '10.0.0.1', locale: 'fr-FR' },
    integrations: { All: false, Mixpanel: true },
    batch: [
      {
        type: 'track',
        userId: 'u',
        event: 'Own',
        context: { ip: '10.0.0.2', library: { name: 'own' } },
        integrations: { Mixpanel: false },
      },
      { type: 'track', userId: 'u', event: 'Bare' },
    ],
  })
  expect(response.status).toBe(200)
  const [own, bare] = queue.events()
  expect(own?.context).toEqual({ library: { name: 'own' }, ip: '10.0.0.2', locale: 'fr-FR' })
  expect(own?.integrations).toEqual({ All: false, Mixpanel: false })
  expect(bare?.context).toEqual({ library: { name: 'lib', version: '1' }, ip: '10.0.0.1', locale: 'fr-FR' })
  expect(bare?.integrations).toEqual({ All: false, Mixpanel: true })
})

it('reports an item context that is not an object instead of merging into it', async () => {
  const response = await post({
    context: { ip: '10.0.0.1' },
    batch: [
      { type: 'track', userId: 'u', event: 'A', context: 'mobile' },
      { type: 'track', userId: 'u', event: 'B' },
    ],
  })
  expect(await response.json()).toMatchObject({
    accepted: 1,
    rejected: [{ index: 0, issues: [{ path: 'batch.0.context' }] }],
  })
})

it('answers 400 for a batch context that is not an object', async () => {
  const response = await post({ context: [1], batch: [{ type: 'track', userId: 'u', event: 'A' }] })
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({ issues: [{ path: 'context' }] })
})
