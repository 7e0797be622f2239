import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'
import { LIVE_REFRESH_SCRIPT } from './scripts'
import { DASHBOARD_CSS } from './styles'

export const PRODUCT_NAME = 'Segment edge router'

export function Logo() {
  return (
    <svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true">
      <rect width="24" height="24" rx="6" fill="#4f46e5" />
      <circle cx="6.5" cy="12" r="2.2" fill="#fff" />
      <path
        d="M8.7 12H12m0 0 4-5h2.5M12 12h6.5M12 12l4 5h2.5"
        stroke="#fff"
        stroke-width="1.8"
        fill="none"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  )
}

/** The HTML document: inline stylesheet under the response's CSP nonce, no external resource at all. */
export function HtmlDocument(props: { title: string; nonce: string; bodyClass?: string; children: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>{`${props.title} · ${PRODUCT_NAME}`}</title>
          {/* An empty icon: otherwise the browser asks the router for /favicon.ico on every page. */}
          <link rel="icon" href="data:," />
          <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: DASHBOARD_CSS }} />
        </head>
        <body class={props.bodyClass}>{props.children}</body>
      </html>
    </>
  )
}

export type DashboardPage = 'overview' | 'funnel' | 'sources' | 'replays' | 'alerts'

const NAV: { page: DashboardPage; href: string; label: string }[] = [
  { page: 'overview', href: '/admin', label: 'Overview' },
  { page: 'funnel', href: '/admin/delivery-funnel', label: 'Funnel' },
  { page: 'sources', href: '/admin/sources', label: 'Sources & destinations' },
  { page: 'alerts', href: '/admin/alerts', label: 'Alerts' },
  { page: 'replays', href: '/admin/replays', label: 'Replays' },
]

/** Signed-in pages: top bar with navigation, live indicator and log-out. */
export function DashboardLayout(props: {
  title: string
  nonce: string
  active: DashboardPage
  /** Whether the page has `[data-live]` regions to refresh. */
  live: boolean
  children: Child
}) {
  return (
    <HtmlDocument title={props.title} nonce={props.nonce}>
      <header class="topbar">
        <a class="brand" href="/admin">
          <Logo />
          {PRODUCT_NAME}
        </a>
        <nav>
          {NAV.map((item) => (
            <a
              href={item.href}
              class={item.page === props.active ? 'active' : ''}
              aria-current={item.page === props.active ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        {props.live ? (
          <span class="live" id="live-stamp" data-state="live">
            Live
          </span>
        ) : null}
        <form method="post" action="/admin/logout">
          <button type="submit" class="btn btn-ghost btn-small">
            Log out
          </button>
        </form>
      </header>
      <main>{props.children}</main>
      {props.live ? (
        <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: LIVE_REFRESH_SCRIPT }} />
      ) : null}
    </HtmlDocument>
  )
}
