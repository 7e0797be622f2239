import { beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, ORIGIN, routerFetch, useSources } from '../helpers/router'
import { attributesOf, textOf } from './html'
import { dashboardHtml, loginCookie } from './session'

const SHOP = {
  name: 'pause-shop',
  writeKey: 'wk_pause_view_key',
  destinations: { CrowdPower: { apiKey: 'pk_pause_view_secret' } },
}
useSources(SHOP)

let cookie: string
beforeAll(async () => {
  cookie = await loginCookie()
})

const ROW = '[data-source="pause-shop"] tr[data-destination="CrowdPower"]'

function submitGate(fields: Record<string, string>, origin = ORIGIN): Promise<Response> {
  return routerFetch('/admin/sources/gate', {
    method: 'POST',
    headers: { Cookie: cookie, Origin: origin },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
}

async function auditActions(): Promise<string[]> {
  const response = await routerFetch('/admin/audit?target=pause-shop:CrowdPower', {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  const { entries } = (await response.json()) as { entries: { actor: string; action: string }[] }
  return entries.map((entry) => `${entry.actor} ${entry.action}`)
}

describe('pausing and resuming from the sources page', () => {
  it('shows each destination running with a Pause button, then paused by the dashboard with Resume', async () => {
    let html = await dashboardHtml('/admin/sources', cookie)
    expect(await attributesOf(html, `${ROW} [data-gate]`, 'data-gate')).toEqual(['running'])
    expect(await textOf(html, `${ROW} .gate button`)).toBe('Pause')

    const paused = await submitGate({ id: 'pause-shop:CrowdPower', action: 'pause' })
    expect(paused.status).toBe(303)
    html = await dashboardHtml('/admin/sources', cookie)
    expect(await attributesOf(html, `${ROW} [data-gate]`, 'data-gate')).toEqual(['paused'])
    expect(await textOf(html, `${ROW} .gate .muted`)).toContain('by dashboard')
    expect(await textOf(html, `${ROW} .gate button`)).toBe('Resume')

    expect((await submitGate({ id: 'pause-shop:CrowdPower', action: 'resume' })).status).toBe(303)
    html = await dashboardHtml('/admin/sources', cookie)
    expect(await attributesOf(html, `${ROW} [data-gate]`, 'data-gate')).toEqual(['running'])
    expect(await auditActions()).toEqual(['dashboard destination.resumed', 'dashboard destination.paused'])
  })

  it('refuses a form from another origin, an unknown destination or action, changing nothing', async () => {
    expect(
      (await submitGate({ id: 'pause-shop:CrowdPower', action: 'pause' }, 'https://evil.example')).status,
    ).toBe(403)
    expect((await submitGate({ id: 'pause-shop:Crisp', action: 'pause' })).status).toBe(404)
    expect((await submitGate({ id: 'pause-shop:CrowdPower', action: 'stop' })).status).toBe(400)
    expect((await submitGate({ action: 'pause' })).status).toBe(400)
    const html = await dashboardHtml('/admin/sources', cookie)
    expect(await attributesOf(html, `${ROW} [data-gate]`, 'data-gate')).toEqual(['running'])
  })
})
