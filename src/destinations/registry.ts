import type { DestinationDefinition } from './types'

/** Every destination the router can deliver to. A new partner is one folder plus one line here. */
export const DESTINATIONS: readonly DestinationDefinition<never>[] = []

const byName = new Map(DESTINATIONS.map((definition) => [definition.name, definition]))

export function findDestination(name: string): DestinationDefinition<never> | undefined {
  return byName.get(name)
}
