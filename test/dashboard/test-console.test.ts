import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { SANDBOX_CREDENTIALS as creds } from '../../sandbox/credentials'
import { listAudit } from '../../src/operations/log'
import { sandboxDestinations } from '../helpers/destinations'
import { ORIGIN, putConfig, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { attributesOf, textOf, textsOf } from './html'
import { dashboardHtml, loginCookie } from './session'

/** The test console page (issue 16): its forms, what it shows after a send, and what it refuses. */

const tenant = new SandboxTenant()
const destinations = sandboxDestinations(tenant)
const PAGE_SOURCE = {
  name: 'console-page',
  writeKey: 'wk_console_page_1',
  destinations: { CrowdPower: destinations.CrowdPower, 'Crossing Minds': destinations['Crossing Minds'] },
}
const PAGE = '/admin/destinations/console-page%3ACrowdPower/test'
const ACTION = `${PAGE}/send`
const SECRETS = [creds.crowdPower.publicKey, creds.crossingMinds.password]

let cookie: string
beforeAll(async () => {
  await putConfig({ sources: [PAGE_SOURCE] })
  cookie = await loginCookie()
})

async function submit(fields: Record<string, string>, origin = ORIGIN, path = ACTION) {
  const response = await routerFetch(path, {
    method: 'POST',
    headers: { Cookie: cookie, Origin: origin },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
  return { status: response.status, html: await response.text() }
}

describe('the test console page', () => {
  it('is linked from each destination on the sources page', async () => {
    const html = await dashboardHtml('/admin/sources', cookie)
    expect(await attributesOf(html, '[data-source="console-page"] a.test-link', 'href')).toEqual([
      PAGE,
      '/admin/destinations/console-page%3ACrossing%20Minds/test',
    ])
  })

  it('offers every sample and a box to paste an event, both posting beside the page', async () => {
    const html = await dashboardHtml(PAGE, cookie)
    expect(await textOf(html, 'h1')).toBe('Test CrowdPower · source console-page')
    expect(await attributesOf(html, '.sample-form button[name="sample"]', 'value')).toEqual([
      'identify',
      'track',
      'track-b2b',
      'page',
      'screen',
      'group',
      'alias',
    ])
    expect(await attributesOf(html, 'form', 'action')).toEqual(['/admin/logout', ACTION, ACTION])
    expect(await textsOf(html, '.paste-form textarea[name="event"]')).toEqual([''])
    expect(html).not.toContain(creds.crowdPower.publicKey)
  })

  it('shows the login form to a signed-out browser, and a notice for an id that names nothing', async () => {
    const signedOut = await routerFetch(PAGE)
    expect(signedOut.status).toBe(200)
    expect(await signedOut.text()).toContain('id="login-form"')
    const unknown = await routerFetch('/admin/destinations/console-page%3ACrisp/test', {
      headers: { Cookie: cookie },
    })
    expect(unknown.status).toBe(404)
    expect(await textOf(await unknown.text(), '.notice')).toBe(
      'source &quot;console-page&quot; has no destination &quot;Crisp&quot;',
    )
  })

  it('sends a sample and shows the outcome and the exchange, redacted, audited as the dashboard', async () => {
    const before = (await tenant.requests('crowdpower')).length
    const { status, html } = await submit({ sample: 'page' })
    expect(status, html).toBe(200)
    expect(await attributesOf(html, '.test-result', 'data-outcome')).toEqual(['delivered'])
    expect(await textOf(html, '.explanation')).toBe('delivered: CrowdPower accepted it (HTTP 200)')
    expect(await textOf(html, '.exchange h3')).toBe(`POST ${tenant.apiBase('crowdpower')}/events`)
    const headers = await textsOf(html, '.exchange-headers div')
    expect(headers).toContain('authorization &lt;redacted&gt;')
    expect(await attributesOf(html, '.exchange .http', 'data-status')).toEqual(['200'])
    const body = JSON.parse((await textOf(html, '.exchange-body')).replaceAll('&quot;', '"'))
    expect(body).toMatchObject({ user_id: '019mr8mf4r', action: 'Page Viewed' })
    expect((await tenant.requests('crowdpower')).length).toBe(before + 1)
    for (const secret of SECRETS) expect(html).not.toContain(secret)

    const [entry] = await listAudit(env, 1, 'console-page:CrowdPower')
    expect(entry).toMatchObject({
      actor: 'dashboard',
      action: 'destination.tested',
      detail: 'sample page: delivered (HTTP 200)',
    })
  })

  it('shows the Crossing Minds login with its password and tokens redacted', async () => {
    const { status, html } = await submit(
      { sample: 'track' },
      ORIGIN,
      '/admin/destinations/console-page%3ACrossing%20Minds/test/send',
    )
    expect(status, html).toBe(200)
    expect(await textsOf(html, '.exchange h3')).toEqual([
      `POST ${tenant.apiBase('crossingminds')}/v1/login/service/`,
      `POST ${tenant.apiBase('crossingminds')}/v1/users/019mr8mf4r/interactions-bulk/`,
    ])
    const [jwt] = (await tenant.requests('crossingminds'))
      .map((request) => request.headers.authorization?.replace(/^Bearer /, ''))
      .filter((token) => token !== undefined)
    expect(jwt).toBeDefined()
    for (const secret of [...SECRETS, jwt as string]) expect(html).not.toContain(secret)
  })

  it('sends a pasted event, and keeps a refused one in the box with what is wrong', async () => {
    const pasted = JSON.stringify({
      type: 'identify',
      userId: 'pasted-page',
      traits: { email: 'p@example.com' },
    })
    const sent = await submit({ event: pasted })
    expect(sent.status, sent.html).toBe(200)
    expect(await attributesOf(sent.html, '.test-result', 'data-outcome')).toEqual(['delivered'])

    const before = (await tenant.requests()).length
    const refused = await submit({ event: '{"type":"track","userId":"u1"}' })
    expect(refused.status).toBe(400)
    expect(await textsOf(refused.html, '.rule-issues li')).toEqual(['event.event event is required on track'])
    expect(await textOf(refused.html, 'textarea[name="event"]')).toBe(
      '{&quot;type&quot;:&quot;track&quot;,&quot;userId&quot;:&quot;u1&quot;}',
    )
    expect(await textsOf(refused.html, '.test-result')).toEqual([])

    const notJson = await submit({ event: '{"type": track' })
    expect(notJson.status).toBe(400)
    expect((await textsOf(notJson.html, '.rule-issues li'))[0]).toMatch(/^event not valid JSON/)
    const empty = await submit({ event: '  ' })
    expect(await textsOf(empty.html, '.rule-issues li')).toEqual(['event paste an event, or choose a sample'])
    expect((await tenant.requests()).length).toBe(before)
  })

  it('refuses a send from another origin, and sends nothing', async () => {
    const before = (await tenant.requests()).length
    const { status } = await submit({ sample: 'track' }, 'https://evil.example')
    expect(status).toBe(403)
    expect((await tenant.requests()).length).toBe(before)
  })
})
