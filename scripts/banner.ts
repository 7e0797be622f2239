/** The banner `npm start` (and `npm run demo`, when it starts the stack) prints. */
import type { LocalStack } from './local-stack'

export function banner(stack: LocalStack): string {
  const basic = Buffer.from(`${stack.writeKey}:`).toString('base64')
  return `
  Segment edge router is running (Ctrl-C stops it)

    dashboard  ${stack.dashboardUrl}
    router     ${stack.routerUrl}
    admin API  ${stack.routerUrl}/admin/…   Authorization: Bearer ${stack.adminToken}
    sandbox    ${stack.sandboxUrl}/__sandbox/t/default/requests   (what each partner received)
    write key  ${stack.writeKey}   (source "${stack.sourceName}")

  Send an event:
    curl -s ${stack.routerUrl}/v1/track -H 'Authorization: Basic ${basic}' \\
      -d '{"userId":"user-1","event":"Product Viewed","properties":{"product_id":"sku-1"}}'

  Or a realistic stream through @segment/analytics-node, in another terminal:
    npm run demo
`
}
