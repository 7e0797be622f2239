import { startSandbox } from './server'

/** Runs the partner sandbox on its own (npm start runs it beside the router). */
const port = Number(process.env.SANDBOX_PORT ?? '8788')
const sandbox = await startSandbox(port)
console.log(`partner sandbox listening on ${sandbox.url}`)
