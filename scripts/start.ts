/**
 * `npm start`: the router under `wrangler dev` (local KV, Queues and D1 in
 * .wrangler/state) beside the partner sandbox, with a demo config that points
 * all four destinations at the sandbox. Nothing to sign up for.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { SANDBOX_CREDENTIALS as creds } from '../sandbox/credentials'
import { startSandbox } from '../sandbox/server'

const ROUTER_PORT = Number(process.env.ROUTER_PORT ?? '8787')
const SANDBOX_PORT = Number(process.env.SANDBOX_PORT ?? '8788')
const DEMO_WRITE_KEY = 'wk_demo_local_0001'
const routerUrl = `http://127.0.0.1:${ROUTER_PORT}`

/** The local admin token lives in .dev.vars (git-ignored), created on first start. */
function localAdminToken(): string {
  const existing = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : ''
  const match = existing.match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?/m)
  if (match?.[1]) return match[1]
  const token = `local-${randomBytes(12).toString('hex')}`
  writeFileSync(
    '.dev.vars',
    `${existing}${existing && !existing.endsWith('\n') ? '\n' : ''}ADMIN_TOKEN="${token}"\n`,
  )
  return token
}

/** The demo config: one source, all four destinations on the sandbox (or your own config, if PUT already). */
function demoConfig(sandboxUrl: string) {
  return {
    sources: [
      {
        name: 'demo',
        writeKey: DEMO_WRITE_KEY,
        webhookSecret: 'whsec_demo_local',
        destinations: {
          Crisp: {
            apiKey: `${creds.crisp.identifier}:${creds.crisp.key}`,
            websiteId: creds.crisp.websiteId,
            apiBase: `${sandboxUrl}/crisp`,
          },
          'Crossing Minds': {
            apiKey: creds.crossingMinds.name,
            apiPassword: creds.crossingMinds.password,
            apiDatabaseId: creds.crossingMinds.dbId,
            apiBase: `${sandboxUrl}/crossingminds`,
          },
          CrowdPower: { apiKey: creds.crowdPower.publicKey, apiBase: `${sandboxUrl}/crowdpower` },
          Calixa: { apiKey: creds.calixa.apiKey, endpoint: `${sandboxUrl}/calixa/segment/webhook` },
        },
      },
    ],
  }
}

async function waitForRouter(child: ChildProcess): Promise<void> {
  for (let tries = 0; tries < 240; tries += 1) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`)
    try {
      if ((await fetch(`${routerUrl}/health`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error('wrangler dev did not come up within 2 minutes')
}

const adminToken = localAdminToken()
const sandbox = await startSandbox(SANDBOX_PORT)

const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'LEDGER', '--local'], {
  stdio: ['ignore', 'inherit', 'inherit'],
})
if (migrate.status !== 0) throw new Error('applying D1 migrations failed')

const wrangler = spawn('npx', ['wrangler', 'dev', '--port', String(ROUTER_PORT), '--ip', '127.0.0.1'], {
  stdio: ['ignore', 'inherit', 'inherit'],
})
const stop = async () => {
  wrangler.kill('SIGINT')
  await sandbox.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

await waitForRouter(wrangler)
const current = await fetch(`${routerUrl}/admin/config`, {
  headers: { Authorization: `Bearer ${adminToken}` },
})
const existing = (await current.json()) as { sources?: unknown[] }
if (!existing.sources?.length) {
  const put = await fetch(`${routerUrl}/admin/config`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(demoConfig(sandbox.url)),
  })
  if (!put.ok) throw new Error(`seeding the demo config failed: ${await put.text()}`)
}

const auth = Buffer.from(`${DEMO_WRITE_KEY}:`).toString('base64')
console.log(`
  Segment edge router is running
    router     ${routerUrl}
    admin API  ${routerUrl}/admin  (Authorization: Bearer ${adminToken})
    sandbox    ${sandbox.url}  (what each partner received: ${sandbox.url}/__sandbox/t/default/requests)
    write key  ${DEMO_WRITE_KEY}

  Send an event:
    curl -s ${routerUrl}/v1/track -H 'Authorization: Basic ${auth}' \\
      -d '{"userId":"user-1","event":"Product Viewed","properties":{"product_id":"sku-1"}}'
`)
