import { expect, it } from 'vitest'
import { gzip, postAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const batch = JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event: 'Compressed' }] })

const post = (body: BodyInit, headers: Record<string, string>) => postAsWeb('/v1/batch', body, headers)

it.each([
  ['gzip with Content-Encoding', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }],
  ['gzip without Content-Encoding', { 'Content-Type': 'application/json' }],
  ['gzip labelled as a form (analytics-kotlin)', { 'Content-Type': 'application/x-www-form-urlencoded' }],
])('decodes %s', async (_, headers) => {
  const queue = spyOnQueue()
  const response = await post(await gzip(batch), headers)
  expect(response.status).toBe(200)
  expect(queue.events()[0]).toMatchObject({ event: 'Compressed' })
})

it.each([
  ['text/plain (analytics.js)', 'text/plain'],
  ['no useful type', 'application/octet-stream'],
])('parses JSON sent as %s', async (_, type) => {
  const queue = spyOnQueue()
  expect((await post(batch, { 'Content-Type': type })).status).toBe(200)
  expect(queue.events()).toHaveLength(1)
})

it('answers 400 for a body that starts like gzip but does not decode', async () => {
  const broken = (await gzip(batch)).slice(0, 20)
  const response = await post(broken, { 'Content-Encoding': 'gzip' })
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({ error: 'invalid_gzip' })
})

it.each([
  ['not JSON', '{"batch": ['],
  ['empty', ''],
])('answers 400 for a body that is %s', async (_, body) => {
  const response = await post(body, { 'Content-Type': 'application/json' })
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({ error: 'invalid_json' })
})
