import type { TestProject } from 'vitest/node'
import { startSandbox } from '../../sandbox/server'

declare module 'vitest' {
  export interface ProvidedContext {
    sandboxUrl: string
  }
}

/** Starts the partner sandbox once for the whole run; tests reach it on loopback. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sandbox = await startSandbox()
  project.provide('sandboxUrl', sandbox.url)
  return () => sandbox.close()
}
