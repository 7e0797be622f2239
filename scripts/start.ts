/**
 * `npm start`: the router under `wrangler dev` beside the partner sandbox, with
 * the demo config seeded (see local-stack.ts), until Ctrl-C.
 */
import { banner } from './banner'
import { startLocalStack } from './local-stack'

const stack = await startLocalStack({
  routerPort: Number(process.env.ROUTER_PORT ?? '8787'),
  sandboxPort: Number(process.env.SANDBOX_PORT ?? '8788'),
  exitOnSignal: true,
})
console.log(banner(stack))
