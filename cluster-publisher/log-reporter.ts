import type { Logger } from '../node/logger.js'
import type { FragmentReporter } from './publisher-controller.js'
import { describePin, UNPINNED } from './publisher-state.js'

/** Logs each fragment whose status or reason changed, once, and each route that became pending. */
export function logReporter (log: Logger): FragmentReporter {
  return {
    fragmentChanged (report) {
      if (report.status === 'accepted') {
        log.info({ fragment: report.source }, 'fragment accepted again')
      } else {
        log.warn({ fragment: report.source, status: report.status, problem: report.problem, reason: report.reason },
          report.status === 'kept-last-good' ? 'fragment broken; keeping its last good content' : 'fragment left out')
      }
    },
    routePending (pending) {
      log.info({ service: pending.source, reason: pending.reason }, 'route pending')
    },
    pinChanged (pin) {
      if (pin === undefined) log.info(UNPINNED)
      else log.warn({ pinnedTo: pin.version }, describePin(pin))
    }
  }
}
