import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RecordedRequest } from '../../sandbox/core'
import { type LocalStack, REPO_ROOT } from '../../scripts/local-stack'
import { sandboxDestinationSettings } from '../../scripts/sandbox-destinations'
import { type Browser, launchChromium } from './chromium'
import { startTestStack } from './stack'

/**
 * Segment's browser library, unmodified from node_modules, in headless Chromium,
 * loading its settings from the router (`cdnURL`) and sending every call there;
 * the assertions are on what the sandbox partners received. The shop page is
 * served by Playwright on another origin (localhost vs 127.0.0.1), so the
 * library's requests are cross-origin, as on a real site.
 */

const LIBRARY_DIR = join(REPO_ROOT, 'node_modules/@segment/analytics-next/dist/umd')
const DELIVERY_TIMEOUT = 30_000
const WRITE_KEY = `wk_browser_${randomUUID().slice(0, 8)}`

let stack: LocalStack
let browser: Browser
let shop: Awaited<ReturnType<typeof startShop>>
const tenant = `t${randomUUID().replaceAll('-', '')}`
const pageErrors: string[] = []

beforeAll(async () => {
  stack = await startTestStack('browser-test')
  const destinations = sandboxDestinationSettings((partner) => `${stack.sandboxUrl}/t/${tenant}/${partner}`)
  const response = await fetch(`${stack.routerUrl}/admin/config`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      sources: [
        {
          name: 'shop',
          writeKey: WRITE_KEY,
          consentMissing: 'drop',
          destinations: {
            CrowdPower: {
              ...destinations.CrowdPower,
              consent: ['Advertising'],
            },
            // No consent categories: gets every call as the library sent it.
            Calixa: destinations.Calixa,
          },
        },
      ],
    }),
  })
  expect(response.status, await response.text()).toBe(200)
  shop = await startShop()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await shop?.close()
  await stack?.stop()
})

/**
 * The shop: a plain HTTP server on loopback (another port, so another origin than
 * the router) serving a page that loads the library's UMD build, and its lazy
 * chunks, from node_modules.
 */
async function startShop(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://shop').pathname
    if (path === '/') {
      response.writeHead(200, { 'Content-Type': 'text/html' })
      response.end('<!doctype html><title>Shop</title><script src="/analytics/index.js"></script>')
      return
    }
    const file = path.replace(/^\/analytics\//, '')
    if (!/^[\w.-]+\.js$/.test(file)) {
      response.writeHead(404).end()
      return
    }
    try {
      const body = await readFile(join(LIBRARY_DIR, file))
      response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(body)
    } catch {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function openShop(): Promise<{ page: Page; sent: Request[] }> {
  const page = await browser.context.newPage()
  page.on('pageerror', (error) => pageErrors.push(error.message))
  const sent: Request[] = []
  page.on('request', (request) => {
    if (request.url().startsWith(stack.routerUrl)) sent.push(request)
  })
  await page.goto(`${shop.origin}/`)
  return { page, sent }
}

async function partnerRequests(partner: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${stack.sandboxUrl}/__sandbox/t/${tenant}/requests?partner=${partner}`)
  return (await response.json()) as RecordedRequest[]
}

/** Waits until the partner has received requests matching `count(requests)` at least `atLeast`. */
async function waitForPartner(
  partner: string,
  matching: (request: RecordedRequest) => boolean,
  atLeast: number,
): Promise<RecordedRequest[]> {
  await expect
    .poll(async () => (await partnerRequests(partner)).filter(matching).length, { timeout: DELIVERY_TIMEOUT })
    .toBeGreaterThanOrEqual(atLeast)
  return (await partnerRequests(partner)).filter(matching)
}

const bodyText = (request: RecordedRequest) => JSON.stringify(request.body)

describe('@segment/analytics-next through the router', () => {
  it('loads its settings from the router and sends identify and track there, honouring consent', async () => {
    const { page, sent } = await openShop()
    await page.evaluate(
      async ({ routerUrl, writeKey }) => {
        type Call = (...args: unknown[]) => Promise<unknown>
        const { AnalyticsBrowser } = (
          globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load: Call } } }
        ).AnalyticsNext
        const [analytics] = (await AnalyticsBrowser.load({ writeKey, cdnURL: routerUrl })) as [
          Record<'identify' | 'track', Call>,
        ]
        const consent = (advertising: boolean) => ({
          context: { consent: { categoryPreferences: { Advertising: advertising, Analytics: true } } },
        })
        await analytics.identify('u-denied', { email: 'denied@example.com' }, consent(false))
        await analytics.identify('u-no-consent', { email: 'none@example.com' })
        // Last, so the track below carries this user (the library keeps the identified user).
        await analytics.identify('u-granted', { email: 'granted@example.com', plan: 'pro' }, consent(true))
        await analytics.track(
          'Signed Up',
          { plan: 'pro' },
          { context: { ...consent(true).context, groupId: 'acct-1' } },
        )
      },
      { routerUrl: stack.routerUrl, writeKey: WRITE_KEY },
    )

    // The library fetched its settings from the router, then posted each call to the router's /v1.
    const paths = sent.map((request) => new URL(request.url()).pathname)
    expect(paths[0]).toBe(`/v1/projects/${WRITE_KEY}/settings`)
    expect(paths.slice(1)).toEqual(['/v1/i', '/v1/i', '/v1/i', '/v1/t'])
    expect(sent[1]?.headers()['content-type']).toBe('text/plain')

    // Calixa (no consent needed) received all three identifies and the track, as the library built them.
    const calixa = await waitForPartner('calixa', () => true, 4)
    const identifies = calixa.map(
      (request) => request.body as { type: string; userId: string; context?: Record<string, unknown> },
    )
    // Sorted: one queue batch may hand Calixa the four events together, posted in parallel.
    expect(identifies.map((event) => `${event.type} ${event.userId}`).sort()).toEqual([
      'identify u-denied',
      'identify u-granted',
      'identify u-no-consent',
      'track u-granted',
    ])
    expect(identifies[0]?.context?.library).toMatchObject({ name: 'analytics.js' })
    expect(identifies.find((event) => event.type === 'track')?.context).toMatchObject({
      groupId: 'acct-1',
      consent: { categoryPreferences: { Advertising: true } },
    })

    // CrowdPower needs Advertising: only the granted identify and track arrive.
    await waitForPartner('crowdpower', () => true, 2)
    // A dropped event makes no request, so its absence can only be seen by waiting: every event is
    // routed already (Calixa has them all), so a request in flight would land within this second.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const all = await partnerRequests('crowdpower')
    expect(all.map((request) => request.path).sort()).toEqual(['/customers', '/events'])
    const text = all.map(bodyText).join('\n')
    expect(text).toContain('u-granted')
    expect(text).toContain('granted@example.com')
    expect(text).not.toContain('denied@example.com')
    expect(text).not.toContain('none@example.com')
    expect(text).not.toContain('u-denied')
    expect(pageErrors).toEqual([])
    await page.close()
  })

  it('sends its batching mode to /v1/b as text/plain, and the partners receive the events', async () => {
    const { page, sent } = await openShop()
    await page.evaluate(
      async ({ routerUrl, writeKey }) => {
        type Call = (...args: unknown[]) => Promise<unknown>
        const { AnalyticsBrowser } = (
          globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load: Call } } }
        ).AnalyticsNext
        const [analytics] = (await AnalyticsBrowser.load(
          { writeKey, cdnURL: routerUrl },
          {
            integrations: {
              'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 2, timeout: 500 } } },
            },
          },
        )) as [Record<'identify', Call>]
        const context = { context: { consent: { categoryPreferences: { Advertising: true } } } }
        await analytics.identify('u-batch-1', { plan: 'team' }, context)
        await analytics.identify('u-batch-2', { plan: 'team' }, context)
      },
      { routerUrl: stack.routerUrl, writeKey: WRITE_KEY },
    )
    await expect.poll(() => sent.filter((request) => request.url().endsWith('/v1/b')).length).toBe(1)
    const batch = sent.find((request) => request.url().endsWith('/v1/b'))
    expect(batch?.headers()['content-type']).toBe('text/plain')
    const response = await batch?.response()
    expect(response?.status()).toBe(200)
    const customers = await waitForPartner(
      'crowdpower',
      (request) => bodyText(request).includes('u-batch-'),
      1,
    )
    expect(customers.map(bodyText).join()).toContain('u-batch-2')
    expect(pageErrors).toEqual([])
    await page.close()
  })
})
