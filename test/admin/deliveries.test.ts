import { beforeAll, describe, expect, it } from 'vitest'
import type { LedgerRow } from '../helpers/delivery'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

interface Page {
  deliveries: LedgerRow[]
  nextCursor: string | null
}

async function list(query: string): Promise<Response> {
  return routerFetch(`/admin/deliveries?${query}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
}

const ids: string[] = []
let sourceName = ''

beforeAll(async () => {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  const source = await configureSource({ CrowdPower: destinations.CrowdPower, Crisp: destinations.Crisp })
  sourceName = source.name
  for (let n = 0; n < 5; n += 1) ids.push(messageId('list'))
  await sendBatch(
    source.writeKey,
    ids.map((id, n) => ({ type: 'page', messageId: id, userId: `page-user-${n}`, name: 'Home' })),
  )
  await waitForLedger(ids, { rows: 10 })
})

describe('GET /admin/deliveries', () => {
  it('pages through every row once, newest events first', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const response = await list(`source=${sourceName}&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(response.status).toBe(200)
      const page = (await response.json()) as Page
      expect(page.deliveries.length).toBeLessThanOrEqual(3)
      for (let index = 1; index < page.deliveries.length; index += 1) {
        expect(page.deliveries[index - 1]?.recorded_us).toBeGreaterThanOrEqual(
          page.deliveries[index]?.recorded_us ?? 0,
        )
      }
      seen.push(...page.deliveries.map((row) => `${row.message_id} ${row.destination}`))
      cursor = page.nextCursor
      pages += 1
    } while (cursor)
    expect(pages).toBe(4)
    expect(new Set(seen).size).toBe(10)
    expect(seen).toHaveLength(10)
  })

  it('filters by messageId, userId, destination and status', async () => {
    const byMessage = (await (await list(`messageId=${ids[2]}`)).json()) as Page
    expect(byMessage.deliveries.map((row) => row.destination).sort()).toEqual(['Crisp', 'CrowdPower'])

    const byUser = (await (await list('userId=page-user-4&destination=CrowdPower')).json()) as Page
    expect(byUser.deliveries).toEqual([expect.objectContaining({ message_id: ids[4], status: 'delivered' })])

    // Crisp takes no page calls: every Crisp row is a drop with its reason.
    const dropped = (await (await list(`source=${sourceName}&status=dropped`)).json()) as Page
    expect(dropped.deliveries).toHaveLength(5)
    expect(
      dropped.deliveries.every((row) => row.destination === 'Crisp' && row.reason === 'unsupported_call'),
    ).toBe(true)
    expect(((await (await list(`source=${sourceName}&status=failed`)).json()) as Page).deliveries).toEqual([])
  })

  it('answers 400 naming each bad parameter', async () => {
    const response = await list('status=lost&limit=0&since=yesterday')
    expect(response.status).toBe(400)
    const body = (await response.json()) as { issues: { path: string }[] }
    expect(body.issues.map((issue) => issue.path).sort()).toEqual(['limit', 'since', 'status'])
    expect((await list('cursor=not-a-cursor')).status).toBe(400)
  })
})
