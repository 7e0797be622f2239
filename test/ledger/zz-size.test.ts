import { env } from 'cloudflare:workers'
import { it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import { consume } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { SandboxTenant } from '../helpers/sandbox'

it('size', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource(sandboxDestinations(tenant))
  const ledger = new Ledger(env)
  const before = (await ledger.capacity()).bytes
  const now = new Date().toISOString()
  const N = 4000
  for (let b = 0; b < N / 100; b += 1) {
    const events = Array.from({ length: 100 }, (_, i) => ({
      type: 'alias' as const,
      messageId: `${crypto.randomUUID()}`,
      userId: `user-${b}-${i}-abcdef`,
      previousId: 'anon',
      receivedAt: now,
      timestamp: now,
    }))
    await consume({ source: source.name, ingestId: crypto.randomUUID(), events })
  }
  const after = (await ledger.capacity()).bytes
  console.log('BYTES/EVENT', (after - before) / N, before, after)
}, 120_000)
