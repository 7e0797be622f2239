import { findDestination } from '../destinations/registry'
import type { DestinationDefinition } from '../destinations/types'
import { RouterError } from '../lib/errors'
import type { DestinationConfig, RouterConfig, SourceConfig } from './schema'
import { findSourceByName } from './store'

/**
 * A destination of one source as the admin URLs name it: `<source>:<destination>`,
 * e.g. `web:Crossing Minds` (in a URL `web:Crossing%20Minds`). Source names never
 * hold a colon (`[A-Za-z0-9_-]`), so the first colon splits it; catalog names may.
 */
export function destinationId(source: string, destination: string): string {
  return `${source}:${destination}`
}

/** The configured destination an id names, with its code. */
export interface DestinationTarget {
  /** The id, as `destinationId` writes it. */
  id: string
  source: SourceConfig
  /** The catalog name: the config key and the ledger's `destination`. */
  destination: string
  config: DestinationConfig
  definition: DestinationDefinition<unknown>
}

/** Longer than any source name (64) plus any catalog name: not an id, whatever it holds. */
const MAX_ID_LENGTH = 300

/**
 * Resolves an id (already URL-decoded) against the config: a 400 when it is not
 * shaped `<source>:<destination>`, a 404 when no such source or destination is configured.
 */
export function parseDestinationId(id: string, config: RouterConfig): DestinationTarget {
  const colon = id.indexOf(':')
  if (id.length > MAX_ID_LENGTH || colon <= 0 || colon === id.length - 1) {
    throw new RouterError(
      400,
      'invalid_destination_id',
      'a destination id is "<source>:<destination>", e.g. "web:Crisp" (URL-encode spaces: web:Crossing%20Minds)',
    )
  }
  const sourceName = id.slice(0, colon)
  const destination = id.slice(colon + 1)
  const source = findSourceByName(config, sourceName)
  if (!source) throw new RouterError(404, 'not_found', `no source named "${sourceName}"`)
  // `destinations` has no prototype (validateConfig): a name like `constructor` finds nothing.
  const destinationConfig = Object.hasOwn(source.destinations, destination)
    ? source.destinations[destination]
    : undefined
  const definition = findDestination(destination)
  if (!destinationConfig || !definition) {
    throw new RouterError(404, 'not_found', `source "${sourceName}" has no destination "${destination}"`)
  }
  return {
    id: destinationId(sourceName, destination),
    source,
    destination,
    config: destinationConfig,
    definition,
  }
}
