import type { Bindings } from '../../env'
import type { Clock } from '../../lib/clock'
import { logInfo, logWarn } from '../../lib/log'
import { evaluateAlerts } from './evaluate'

/**
 * The Worker's `scheduled` handler (wrangler.toml `[triggers]`, every minute):
 * one alert evaluation. A failure is logged, not thrown: the next minute's run
 * is the retry, and no delivery waits on this.
 */
export function createScheduledHandler(clock: Clock): ExportedHandlerScheduledHandler<Bindings> {
  return async (_controller, env) => {
    try {
      const result = await evaluateAlerts(env, clock)
      if (result.evaluated && result.open + result.sent + result.failed + result.recovered > 0)
        logInfo({
          msg: 'alerts evaluated',
          count: result.open,
          outcome: `sent ${result.sent}, failed ${result.failed}`,
        })
    } catch (error) {
      logWarn({ msg: 'alert evaluation failed', reason: error instanceof Error ? error.name : 'unknown' })
    }
  }
}
