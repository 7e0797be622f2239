import { calixaDestination } from './calixa'
import { crispDestination } from './crisp'
import { crossingMindsDestination } from './crossing-minds'
import { crowdPowerDestination } from './crowdpower'
import type { DestinationDefinition } from './types'

/** Every destination the router can deliver to. A new partner is one folder plus one line here. */
export const DESTINATIONS: readonly DestinationDefinition<unknown>[] = [
  crossingMindsDestination,
  crispDestination,
  crowdPowerDestination,
  calixaDestination,
]

const byName = new Map(DESTINATIONS.map((definition) => [definition.name, definition]))

export function findDestination(name: string): DestinationDefinition<unknown> | undefined {
  return byName.get(name)
}
