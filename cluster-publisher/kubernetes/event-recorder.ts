import type { CoreV1Api } from '@kubernetes/client-node'
import type { Logger } from '../../node/logger.js'
import type { ObjectReference } from '../sources/kubernetes-source.js'

/** Constant reasons, as Kubernetes controllers use them. */
export const EVENT_REASONS = {
  invalid: 'FragmentInvalid',
  conflict: 'FragmentConflict',
  keptLastGood: 'FragmentKeptLastGood',
  accepted: 'FragmentAccepted',
  pending: 'RoutePending',
  pinned: 'Pinned',
  unpinned: 'Unpinned',
  rolledBack: 'RolloutRolledBack',
  rolloutComplete: 'RolloutComplete'
} as const

export type EventType = 'Normal' | 'Warning'

const COMPONENT = 'dime-publisher'

/** Records core/v1 Events on the objects fragments come from, so `kubectl describe` shows what is wrong and where. */
export class EventRecorder {
  constructor (private readonly core: CoreV1Api, private readonly instance: string, private readonly log: Logger) {}

  record (object: ObjectReference, type: EventType, reason: string, message: string): void {
    const now = new Date()
    this.core.createNamespacedEvent({
      namespace: object.namespace,
      body: {
        metadata: { generateName: `${object.name}.`, namespace: object.namespace },
        involvedObject: object,
        type,
        reason,
        message,
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1
      }
    }).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message, object: `${object.kind}/${object.namespace}/${object.name}`, reason }, 'could not record a Kubernetes Event')
    })
  }
}
