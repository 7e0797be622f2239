import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { NONCE, secureHeaders } from 'hono/secure-headers'
import * as v from 'valibot'
import {
  adminCredential,
  assertAdminOpen,
  clearSessionCookie,
  isAdminToken,
  isSameOriginRequest,
  requireAdmin,
  setSessionCookie,
} from '../admin/auth'
import { type DestinationTarget, destinationId, parseDestinationId } from '../config/destination-id'
import { redactConfig } from '../config/redact'
import { withDestinationRules } from '../config/rules-edit'
import { validateConfig } from '../config/schema'
import { loadConfig, loadRawConfig, saveConfig } from '../config/store'
import { testSend } from '../delivery/test-send'
import { DESTINATIONS } from '../destinations/registry'
import type { AppEnv } from '../env'
import { resolveTestEvent } from '../ingest/test-event'
import {
  configuredDestinations,
  funnelQuerySchema,
  loadFunnelReport,
  readFunnelQuery,
} from '../ledger/funnel-report'
import { InvalidCursorError, Ledger } from '../ledger/ledger'
import { REPLAYABLE_STATUSES } from '../ledger/state'
import { systemClock } from '../lib/clock'
import { type InputIssue, RouterError, toInputIssues } from '../lib/errors'
import { listAlerts } from '../operations/alerts/incidents'
import { listDestinations, pauseDestination } from '../operations/destinations'
import { recordAudit } from '../operations/log'
import {
  cancelReplayJob,
  listReplayJobs,
  MAX_REPLAY_RATE,
  planReplay,
  replayDeliveries,
  resumeDestination,
  startReplayJob,
} from '../queue/replay'
import { AlertsView } from './alerts'
import { ConfigView, GATE_ACTION, type GateStates, RULES_ACTION, type RulesEdit } from './config-view'
import { DeliveriesSection, DeliveriesTable, REPLAY_ACTION, REPLAY_PLAN_PAGE } from './deliveries-table'
import { FUNNEL_PAGE, FunnelSection } from './funnel'
import { DashboardLayout } from './layout'
import { LOGIN_ACTION, LoginPage } from './login'
import { OverviewSection } from './overview'
import { loadOverview } from './overview-data'
import { dashboardHref, parseDashboardQuery } from './query'
import {
  type PlanTarget,
  REPLAY_CANCEL_ACTION,
  REPLAY_START_ACTION,
  REPLAYS_PAGE,
  ReplayJobsSection,
  ReplayJobsTable,
  ReplayPlanView,
} from './replays-view'
import { LIVE_REFRESH_HEADER } from './scripts'
import { TestConsole, type TestConsoleProps } from './test-console'

/** Rows per page of the deliveries table. */
const PAGE_SIZE = 25

/**
 * Every dashboard response: a strict CSP (only this response's nonce may run
 * script or style; nothing loads from elsewhere), no framing, and no caching of
 * pages that show ledger data.
 */
const pageHeaders = [
  secureHeaders({
    // Under `no-referrer` a browser sends `Origin: null` with its form posts, which the CSRF check refuses.
    referrerPolicy: 'same-origin',
    // HSTS is the domain owner's decision (it binds every subdomain too), not this page's.
    strictTransportSecurity: false,
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: [NONCE],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  }),
  createMiddleware<AppEnv>(async (c, next) => {
    await next()
    c.header('Cache-Control', 'no-store')
  }),
] as const

/** Forms here carry a token or a ledger key: a few KB at most. */
const smallForm = bodyLimit({
  maxSize: 8 * 1024,
  onError: () => new RouterError(413, 'payload_too_large', 'form too large').toResponse(),
})

/** A path of this app as mounted under /admin, from the absolute path the pages link to. */
function mounted(absolutePath: string): string {
  return absolutePath.replace(/^\/admin/, '')
}

function nonceOf(c: Context<AppEnv>): string {
  return c.get('secureHeadersNonce') ?? ''
}

/**
 * Whether the pages may show ledger data; signed-out browsers get the login form
 * instead, as a 200 page (it is what they should see, not an error).
 */
async function isSignedIn(c: Context<AppEnv>): Promise<boolean> {
  assertAdminOpen(c)
  return (await adminCredential(c)) !== undefined
}

/** A form body; one that does not parse (malformed multipart, say) is a 400, not a 500. */
async function readForm(c: Context<AppEnv>) {
  try {
    return await c.req.parseBody()
  } catch {
    throw new RouterError(400, 'invalid_form', 'the form body does not parse')
  }
}

/** A page of the deliveries table; a cursor that is not one the page gave shows the first page. */
async function listOrFirstPage(ledger: Ledger, filter: Parameters<Ledger['list']>[0], cursor?: string) {
  try {
    return await ledger.list(filter, PAGE_SIZE, cursor)
  } catch (error) {
    if (error instanceof InvalidCursorError) return ledger.list(filter, PAGE_SIZE)
    throw error
  }
}

/** A rules form: the JSON of one destination's rules, a few KB in practice. */
const rulesForm = bodyLimit({
  maxSize: 64 * 1024,
  onError: () => new RouterError(413, 'payload_too_large', 'form too large').toResponse(),
})

const RulesFormSchema = v.object({
  source: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  destination: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  rules: v.pipe(v.string(), v.maxLength(60_000, 'the rules are too long')),
})

/** `?saved=` after a rules save; anything malformed is ignored (a page never 400s on its URL). */
const SourcesQuerySchema = v.object({
  saved: v.fallback(v.optional(v.pipe(v.string(), v.maxLength(200))), undefined),
})

/**
 * The stored document with one destination's rules replaced, validated like a
 * PUT of the whole config; the issues to show inline when it is refused.
 */
async function saveDestinationRules(
  c: Context<AppEnv>,
  form: v.InferOutput<typeof RulesFormSchema>,
): Promise<RulesEdit | undefined> {
  const refused = (issues: RulesEdit['issues']): RulesEdit => ({ ...form, text: form.rules, issues })
  const edited = withDestinationRules(await loadRawConfig(c.env), form.source, form.destination, form.rules)
  if (!edited.ok) return refused(edited.issues)
  const result = validateConfig(edited.document)
  if (!result.ok) return refused(result.issues)
  await saveConfig(c.env, edited.document, result.config)
  await recordAudit(c.env, {
    at: systemClock.now(),
    actor: 'dashboard',
    action: 'config.rules_saved',
    target: destinationId(form.source, form.destination),
    detail: null,
  })
  return undefined
}

/** Each configured destination's gate, for the sources page. */
async function loadGates(c: Context<AppEnv>): Promise<GateStates> {
  const destinations = await listDestinations(c.env, await loadConfig(c.env), systemClock.now())
  return new Map(destinations.map((destination) => [destination.id, destination.gate]))
}

const GateFormSchema = v.object({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  action: v.picklist(['pause', 'resume'], 'action must be pause or resume'),
})
/** The funnel page takes the query of GET /admin/funnel, refused the same way (a 400, here as a page). */
const FunnelQuerySchema = funnelQuerySchema(DESTINATIONS.map((definition) => definition.name))

const ReplayFormSchema = v.object({
  source: v.pipe(v.string(), v.minLength(1)),
  messageId: v.pipe(v.string(), v.minLength(1)),
  destination: v.pipe(v.string(), v.minLength(1)),
})

/** Rows of the alert history the page shows. */
const ALERTS_SHOWN = 50

async function renderAlertsPage(c: Context<AppEnv>): Promise<Response> {
  if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
  const [{ incidents, alerts }, config] = await Promise.all([
    listAlerts(c.env, ALERTS_SHOWN),
    loadConfig(c.env),
  ])
  return c.html(
    <DashboardLayout title="Alerts" nonce={nonceOf(c)} active="alerts" live={false}>
      <AlertsView
        incidents={incidents}
        alerts={alerts}
        configured={config.alerts !== undefined}
        now={systemClock.now()}
      />
    </DashboardLayout>,
  )
}

/** A pasted event is at most 32 KB; form encoding may triple it. */
const testForm = bodyLimit({
  maxSize: 128 * 1024,
  onError: () => new RouterError(413, 'payload_too_large', 'form too large').toResponse(),
})

const TestFormSchema = v.object({
  sample: v.optional(v.pipe(v.string(), v.maxLength(100))),
  event: v.optional(v.pipe(v.string(), v.maxLength(120_000, 'the pasted event is too long'))),
})

/** The test console of `:id`, or the page saying why there is none (an unknown or malformed id). */
async function renderTestConsole(
  c: Context<AppEnv>,
  target: DestinationTarget | RouterError,
  props: Omit<TestConsoleProps, 'target'> = {},
  status: 200 | 400 | 413 = 200,
) {
  const title = target instanceof RouterError ? 'Test a destination' : `Test ${target.destination}`
  return c.html(
    <DashboardLayout title={title} nonce={nonceOf(c)} active="sources" live={false}>
      {target instanceof RouterError ? (
        <p class="notice notice-warn">{target.message}</p>
      ) : (
        <TestConsole target={target} {...props} />
      )}
    </DashboardLayout>,
    target instanceof RouterError ? target.status : status,
  )
}

async function destinationTarget(c: Context<AppEnv>): Promise<DestinationTarget | RouterError> {
  try {
    return parseDestinationId(c.req.param('id') ?? '', await loadConfig(c.env))
  } catch (error) {
    if (error instanceof RouterError) return error
    throw error
  }
}

/** The console's form as the API's body: a sample's name, or the pasted text parsed as JSON. */
function testInputOf(
  form: v.InferOutput<typeof TestFormSchema>,
): { input: unknown } | { issues: InputIssue[] } {
  if (form.sample) return { input: { sample: form.sample } }
  const text = form.event?.trim() ?? ''
  if (text === '') return { issues: [{ path: 'event', message: 'paste an event, or choose a sample' }] }
  try {
    return { input: { event: JSON.parse(text) } }
  } catch (error) {
    return { issues: [{ path: 'event', message: `not valid JSON: ${(error as Error).message}` }] }
  }
}

/** The plan page's URL: one delivery (a row's button) or the table's filter, failed or dropped only. */
const PlanQuerySchema = v.union(
  [
    v.object({
      source: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
      messageId: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
      destination: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
    }),
    v.object({
      status: v.picklist(['failed', 'dropped']),
      destination: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
      q: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
    }),
  ],
  'give a delivery (source, messageId, destination) or a status (failed or dropped)',
)

const StartFormSchema = v.object({
  status: v.picklist(['failed', 'dropped']),
  destination: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
  q: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  rate: v.pipe(
    v.string(),
    v.regex(/^\d{1,4}$/, 'rate must be a whole number'),
    v.transform(Number),
    v.minValue(1),
    v.maxValue(MAX_REPLAY_RATE),
  ),
})

const CancelFormSchema = v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)) })

function parseOrRefuse<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const parsed = v.safeParse(schema, input)
  if (!parsed.success)
    throw new RouterError(400, 'invalid_replay', `invalid ${what}`, toInputIssues(parsed.issues))
  return parsed.output
}

/** `/admin/replays` is a page for a browser (and its live refresh); the JSON list for anyone else. */
function wantsPage(c: Context<AppEnv>): boolean {
  return c.req.header(LIVE_REFRESH_HEADER) === '1' || (c.req.header('Accept') ?? '').includes('text/html')
}

/** The dashboard: HTML pages and their form actions, under /admin beside the JSON API. */
export const dashboardRoutes = new Hono<AppEnv>()
  .get('/', ...pageHeaders, async (c) => {
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    const now = systemClock.now()
    const query = parseDashboardQuery(c.req.query())
    const filter = { search: query.q, status: query.status, destination: query.destination }
    const [overview, page] = await Promise.all([
      loadOverview(c.env, query.window, now),
      listOrFirstPage(new Ledger(c.env), filter, query.cursor),
    ])
    if (c.req.header(LIVE_REFRESH_HEADER) === '1') {
      return c.html(
        <>
          <OverviewSection overview={overview} query={query} />
          <DeliveriesTable page={page} query={query} now={now} />
        </>,
      )
    }
    return c.html(
      <DashboardLayout title="Overview" nonce={nonceOf(c)} active="overview" live={true}>
        <OverviewSection overview={overview} query={query} />
        <DeliveriesSection
          page={page}
          query={query}
          destinations={overview.destinations.map((destination) => destination.name)}
          now={now}
        />
      </DashboardLayout>,
    )
  })
  .get('/sources', ...pageHeaders, async (c) => {
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    const [raw, gates] = await Promise.all([loadRawConfig(c.env), loadGates(c)])
    const { saved } = v.parse(SourcesQuerySchema, c.req.query())
    return c.html(
      <DashboardLayout title="Sources & destinations" nonce={nonceOf(c)} active="sources" live={false}>
        <ConfigView redacted={redactConfig(raw)} gates={gates} {...(saved !== undefined && { saved })} />
      </DashboardLayout>,
    )
  })
  .get(mounted(FUNNEL_PAGE), ...pageHeaders, async (c) => {
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    const config = await loadConfig(c.env)
    const read = readFunnelQuery(FunnelQuerySchema, c.req.query(), systemClock.now())
    const report = read.ok
      ? await loadFunnelReport(
          new Ledger(c.env),
          read.query,
          read.window,
          configuredDestinations(config, read.query.source),
        )
      : null
    return c.html(
      <DashboardLayout title="Delivery funnel" nonce={nonceOf(c)} active="funnel" live={false}>
        <FunnelSection
          nonce={nonceOf(c)}
          query={read.ok ? read.query : {}}
          report={report}
          issues={read.ok ? [] : read.issues}
          destinations={configuredDestinations(config)}
          sources={config.sources.map((source) => source.name)}
        />
      </DashboardLayout>,
      read.ok ? 200 : 400,
    )
  })
  // GET /admin/alerts is also the JSON API (src/admin/alerts.ts): a browser asking for HTML gets
  // this page, anything else goes on to the API (with these no-store, no-frame headers too).
  .get('/alerts', ...pageHeaders, async (c, next) => {
    if (!c.req.header('Accept')?.includes('text/html')) return next()
    return renderAlertsPage(c)
  })
  .post(mounted(RULES_ACTION), ...pageHeaders, requireAdmin, rulesForm, async (c) => {
    const parsed = v.safeParse(RulesFormSchema, await readForm(c))
    if (!parsed.success)
      throw new RouterError(400, 'invalid_form', 'invalid rules form', toInputIssues(parsed.issues))
    const refused = await saveDestinationRules(c, parsed.output)
    if (!refused) {
      const saved = `${parsed.output.source}/${parsed.output.destination}`
      return c.redirect(`/admin/sources?saved=${encodeURIComponent(saved)}`, 303)
    }
    // Refused: the same page again, the submitted text in its box and what is wrong beside it.
    const [raw, gates] = await Promise.all([loadRawConfig(c.env), loadGates(c)])
    return c.html(
      <DashboardLayout title="Sources & destinations" nonce={nonceOf(c)} active="sources" live={false}>
        <ConfigView redacted={redactConfig(raw)} gates={gates} edit={refused} />
      </DashboardLayout>,
      400,
    )
  })
  .post(mounted(GATE_ACTION), ...pageHeaders, requireAdmin, smallForm, async (c) => {
    const parsed = v.safeParse(GateFormSchema, await readForm(c))
    if (!parsed.success)
      throw new RouterError(400, 'invalid_form', 'invalid pause or resume form', toInputIssues(parsed.issues))
    const { id, action } = parsed.output
    if (action === 'pause') await pauseDestination(c.env, id, 'dashboard', undefined, systemClock)
    else await resumeDestination(c.env, id, { actor: 'dashboard' }, systemClock)
    return c.redirect('/admin/sources', 303)
  })
  .get('/destinations/:id/test', ...pageHeaders, async (c) => {
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    return renderTestConsole(c, await destinationTarget(c))
  })
  .post('/destinations/:id/test/send', ...pageHeaders, requireAdmin, testForm, async (c) => {
    const target = await destinationTarget(c)
    if (target instanceof RouterError) return renderTestConsole(c, target)
    const parsed = v.safeParse(TestFormSchema, await readForm(c))
    if (!parsed.success)
      throw new RouterError(400, 'invalid_form', 'invalid test form', toInputIssues(parsed.issues))
    const form = parsed.output
    const shown = { ...(form.sample && { sample: form.sample }), pasted: form.event ?? '' }
    const input = testInputOf(form)
    if ('issues' in input) return renderTestConsole(c, target, { ...shown, issues: input.issues }, 400)
    const resolved = resolveTestEvent(input.input, target.source.name, systemClock.now())
    if (!resolved.ok)
      return renderTestConsole(
        c,
        target,
        { ...shown, issues: resolved.issues },
        resolved.tooLarge ? 413 : 400,
      )
    const result = await testSend(c.env, target, resolved.event, {
      clock: systemClock,
      actor: 'dashboard',
      input: resolved.input,
    })
    return renderTestConsole(c, target, { ...shown, result })
  })
  .post(mounted(LOGIN_ACTION), ...pageHeaders, smallForm, async (c) => {
    const expected = assertAdminOpen(c)
    const form = await readForm(c)
    const presented = typeof form.token === 'string' ? form.token.trim() : undefined
    if (!isAdminToken(expected, presented)) {
      return c.html(<LoginPage nonce={nonceOf(c)} error="That is not the admin token." />, 401)
    }
    await setSessionCookie(c, expected)
    return c.redirect('/admin', 303)
  })
  .post('/logout', ...pageHeaders, (c) => {
    // Another site must not be able to sign the operator out either.
    if (!isSameOriginRequest(c))
      throw new RouterError(403, 'cross_origin', 'log out from the dashboard itself')
    clearSessionCookie(c)
    return c.redirect('/admin', 303)
  })
  .post(mounted(REPLAY_ACTION), requireAdmin, smallForm, async (c) => {
    const parsed = v.safeParse(ReplayFormSchema, await readForm(c))
    if (!parsed.success)
      throw new RouterError(400, 'invalid_replay', 'invalid replay form', toInputIssues(parsed.issues))
    const result = await replayDeliveries(
      c.env,
      { pairs: [parsed.output], limit: 1, actor: 'dashboard' },
      systemClock,
    )
    const outcome = result.replayed > 0 ? 'queued' : (result.skipped[0]?.reason ?? 'not_found')
    return c.redirect(dashboardHref({ window: '24h' }, { q: parsed.output.messageId, replay: outcome }), 303)
  })
  .get(mounted(REPLAY_PLAN_PAGE), ...pageHeaders, async (c) => {
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    const query = parseOrRefuse(PlanQuerySchema, c.req.query(), 'replay plan')
    const target: PlanTarget =
      'source' in query
        ? { kind: 'pair', pair: query }
        : {
            kind: 'filter',
            status: query.status,
            ...(query.destination !== undefined && { destination: query.destination }),
            ...(query.q !== undefined && { q: query.q }),
          }
    const plan =
      target.kind === 'pair'
        ? await planReplay(c.env, { pairs: [target.pair] }, REPLAYABLE_STATUSES, systemClock)
        : await planReplay(
            c.env,
            { filter: { destination: target.destination, search: target.q } },
            [target.status],
            systemClock,
          )
    return c.html(
      <DashboardLayout title="Replay plan" nonce={nonceOf(c)} active="overview" live={false}>
        <ReplayPlanView target={target} plan={plan} />
      </DashboardLayout>,
    )
  })
  .post(mounted(REPLAY_START_ACTION), requireAdmin, smallForm, async (c) => {
    const form = parseOrRefuse(StartFormSchema, await readForm(c), 'replay form')
    const { jobId } = await startReplayJob(
      c.env,
      {
        filter: { destination: form.destination, search: form.q },
        statuses: [form.status],
        rate: form.rate,
        actor: 'dashboard',
      },
      systemClock,
    )
    return c.redirect(`${REPLAYS_PAGE}?started=${encodeURIComponent(jobId)}`, 303)
  })
  .post(mounted(REPLAY_CANCEL_ACTION), requireAdmin, smallForm, async (c) => {
    const form = parseOrRefuse(CancelFormSchema, await readForm(c), 'cancel form')
    const result = await cancelReplayJob(c.env, form.id, 'dashboard', systemClock)
    if (!result) throw new RouterError(404, 'replay_not_found', `no replay job ${form.id}`)
    return c.redirect(REPLAYS_PAGE, 303)
  })
  .get(mounted(REPLAYS_PAGE), ...pageHeaders, async (c, next) => {
    // Not a browser: the JSON list (src/admin/replay.ts) answers, after the admin guard.
    if (!wantsPage(c)) return next()
    if (!(await isSignedIn(c))) return c.html(<LoginPage nonce={nonceOf(c)} />)
    const now = systemClock.now()
    const jobs = await listReplayJobs(c.env, 50)
    if (c.req.header(LIVE_REFRESH_HEADER) === '1') return c.html(<ReplayJobsTable jobs={jobs} now={now} />)
    const started = c.req.query('started')
    const notice =
      started !== undefined && jobs.some((job) => job.id === started)
        ? 'Replay started: its first page is queued within a second.'
        : undefined
    return c.html(
      <DashboardLayout title="Replays" nonce={nonceOf(c)} active="replays" live={true}>
        <ReplayJobsSection jobs={jobs} now={now} {...(notice && { notice })} />
      </DashboardLayout>,
    )
  })
