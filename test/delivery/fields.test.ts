import { createHash } from 'node:crypto'
import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { FieldControlsSchema } from '../../src/config/rules/fields'
import { applyFieldControls, hashFieldValue } from '../../src/delivery/fields/apply'
import type { SegmentEvent } from '../../src/segment/schema'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

function controls(input: unknown) {
  return v.parse(FieldControlsSchema, input)
}

function issues(input: unknown): string[] {
  const result = v.safeParse(FieldControlsSchema, input)
  return result.success ? [] : result.issues.map((issue) => issue.message)
}

function event(fields: Record<string, unknown>): SegmentEvent {
  return {
    type: 'track',
    event: 'Order Completed',
    messageId: 'm-1',
    receivedAt: '2024-05-01T10:00:01.000Z',
    timestamp: '2024-05-01T10:00:00.000Z',
    userId: 'u-1',
    ...fields,
  } as SegmentEvent
}

const ORDER = event({
  properties: {
    revenue: 30,
    payment: { card: '4111111111111111', brand: 'visa' },
    refund: { card: '4000000000000002' },
    products: [
      { sku: 'A1', price: 10 },
      { sku: 'B2', price: 20 },
    ],
  },
  context: { ip: '203.0.113.9', library: { name: 'analytics.js' }, traits: { email: 'jo@example.com' } },
})

describe('field paths', () => {
  it('refuses paths outside traits/properties/context, empty segments, whole roots and mixed lists', () => {
    expect(issues({ deny: ['userId'] })).toEqual([
      '"userId" must start with traits, properties, context followed by "."',
    ])
    expect(issues({ deny: ['traits'] })).toEqual(['"traits" names a whole traits object: list its fields'])
    expect(issues({ deny: ['traits..email'] })[0]).toContain('segment "" must be a key or *')
    expect(issues({ deny: ['properties.a[0]'] })[0]).toContain('segment "a[0]"')
    expect(issues({ allow: ['traits.plan'], deny: ['traits.email'] })).toEqual([
      'fields takes allow or deny, not both',
    ])
    expect(issues({ deny: ['traits.email'], hash: ['traits.email'] })).toEqual([
      'a path is listed twice (a path takes one action)',
    ])
    expect(issues({})).toEqual(['fields needs allow, deny or hash'])
    expect(issues({ deny: ['traits.email'], hsah: ['traits.phone'] })[0]).toMatch(/^unknown key "hsah"/)
    expect(issues([])).toEqual(['fields must be an object with allow or deny, and/or hash'])
  })
})

describe('deny and hash', () => {
  it('removes denied paths (exact, * and inside arrays) and hashes others, leaving the original untouched', () => {
    const before = structuredClone(ORDER)
    const result = applyFieldControls(
      ORDER,
      controls({
        deny: ['properties.*.card', 'context.ip', 'properties.products[].price'],
        hash: ['properties.products[].sku', 'context.traits.email'],
      }),
    )
    expect(result).toEqual({
      ...ORDER,
      properties: {
        revenue: 30,
        payment: { brand: 'visa' },
        refund: {},
        products: [{ sku: sha256('A1') }, { sku: sha256('B2') }],
      },
      context: { library: { name: 'analytics.js' }, traits: { email: sha256('jo@example.com') } },
    })
    expect(ORDER).toEqual(before)
    // Untouched branches are shared, not copied.
    expect((result.context as Record<string, unknown>).library).toBe(
      (ORDER.context as Record<string, unknown>).library,
    )
  })

  it('returns the very same event when nothing applies', () => {
    const plain = event({ properties: { revenue: 1 } })
    expect(applyFieldControls(plain, controls({ deny: ['traits.email', 'properties.products[].sku'] }))).toBe(
      plain,
    )
  })

  it('lets deny win over hash where * and an exact path meet', () => {
    const result = applyFieldControls(
      ORDER,
      controls({ deny: ['properties.*.card'], hash: ['properties.payment'] }),
    )
    expect((result as { properties: Record<string, unknown> }).properties.payment).toBe(
      sha256(JSON.stringify({ card: '4111111111111111', brand: 'visa' })),
    )
    const other = applyFieldControls(
      ORDER,
      controls({ deny: ['properties.payment.card'], hash: ['properties.*.card'] }),
    )
    expect((other as { properties: Record<string, unknown> }).properties).toMatchObject({
      payment: { brand: 'visa' },
      refund: { card: sha256('4000000000000002') },
    })
  })

  it('hashes the string form: the text itself for strings, JSON for anything else; null stays null', () => {
    expect(hashFieldValue('jo@example.com')).toBe(sha256('jo@example.com'))
    expect(hashFieldValue(42)).toBe(sha256('42'))
    expect(hashFieldValue(true)).toBe(sha256('true'))
    expect(hashFieldValue(['a', 1])).toBe(sha256('["a",1]'))
    // Published vectors: UTF-8 bytes of the text, lowercase hex.
    expect(hashFieldValue('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(hashFieldValue('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c')
    expect(hashFieldValue(null)).toBeNull()
  })
})

describe('allow', () => {
  it('keeps only listed paths of traits, properties and context, hashed ones too, and every other field', () => {
    const result = applyFieldControls(
      ORDER,
      controls({
        allow: ['properties.revenue', 'properties.products[].sku'],
        hash: ['context.traits.email'],
      }),
    )
    expect(result).toEqual({
      type: 'track',
      event: 'Order Completed',
      messageId: 'm-1',
      receivedAt: '2024-05-01T10:00:01.000Z',
      timestamp: '2024-05-01T10:00:00.000Z',
      userId: 'u-1',
      properties: { revenue: 30, products: [{ sku: 'A1' }, { sku: 'B2' }] },
      context: { traits: { email: sha256('jo@example.com') } },
    })
  })

  it('keeps a whole allowed object, still applying hashes below it', () => {
    const result = applyFieldControls(
      ORDER,
      controls({ allow: ['properties.payment'], hash: ['properties.payment.card'] }),
    )
    expect(result).toMatchObject({
      properties: { payment: { card: sha256('4111111111111111'), brand: 'visa' } },
    })
    expect(Object.keys(result)).not.toContain('context')
  })
})

describe('keys that name prototypes', () => {
  it('treats __proto__ and constructor as plain keys, on the way in and out', () => {
    const hostile = JSON.parse(
      '{"type":"identify","messageId":"m","receivedAt":"2024-05-01T10:00:01.000Z","timestamp":"2024-05-01T10:00:00.000Z","traits":{"__proto__":{"polluted":true,"email":"x@y.z"},"constructor":{"prototype":{"polluted":true}},"email":"jo@example.com"}}',
    ) as SegmentEvent
    const result = applyFieldControls(
      hostile,
      controls({ deny: ['traits.email', 'traits.__proto__.email'], hash: ['traits.constructor.prototype'] }),
    ) as unknown as { traits: Record<string, unknown> }
    expect(Object.getPrototypeOf(result.traits)).toBe(Object.prototype)
    expect(Object.hasOwn(result.traits, '__proto__')).toBe(true)
    expect(JSON.parse(JSON.stringify(result)).traits).toEqual({
      ['__proto__']: { polluted: true },
      constructor: { prototype: sha256('{"polluted":true}') },
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('properties', () => {
  const json = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ maxLength: 4 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'card', 'sku', '__proto__'), tie('value'), { maxKeys: 3 }),
    ),
  })).value
  const path = fc
    .tuple(
      fc.constantFrom('traits', 'properties', 'context'),
      fc.array(fc.constantFrom('a', 'b', 'card', 'sku', '*', 'a[]', '*[]', '__proto__'), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([root, rest]) => [root, ...rest].join('.'))
  const anyEvent = fc
    .record({
      traits: fc.dictionary(fc.string({ maxLength: 3 }), json),
      properties: fc.dictionary(fc.constantFrom('a', 'b', 'card'), json),
    })
    .map((fields) => JSON.parse(JSON.stringify(event(fields))) as SegmentEvent)

  it('never changes the input, and denied/allow-listed output only ever loses or hashes data', () => {
    fc.assert(
      fc.property(
        anyEvent,
        fc.uniqueArray(path, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (input, paths, allow) => {
          const before = JSON.stringify(input)
          const output = applyFieldControls(input, controls(allow ? { allow: paths } : { deny: paths }))
          expect(JSON.stringify(input)).toBe(before)
          // Fields outside traits/properties/context are always kept as they were.
          expect(output.messageId).toBe(input.messageId)
          expect(output.type).toBe(input.type)
          // Removing never adds bytes.
          expect(JSON.stringify(output).length).toBeLessThanOrEqual(before.length)
        },
      ),
    )
  })
})
