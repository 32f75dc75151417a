import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node'
import { Counter, type Registry } from 'prom-client'
import type { Logger } from '../../node/logger.js'
import { sealSecret, type SecretsPublicKey } from '../../node/sealed-secret.js'
import type { PublisherOptions } from '../create-publisher.js'
import { describePin, UNPINNED } from '../publisher-state.js'
import type { FragmentReporter } from '../publisher-controller.js'
import type { RolloutReporter } from '../rollouts.js'
import { KubernetesSource } from '../sources/kubernetes-source.js'
import { configMapEnvelopeStore } from './config-map-envelope-store.js'
import { EVENT_REASONS, EventRecorder } from './event-recorder.js'
import { statusTargets } from './status-targets.js'
import { StatusWriter } from './status-writer.js'
import { LeaderElector } from './leader-election.js'
import { labelOwnPod } from './leader-label.js'

export interface KubernetesPartsInit {
  kubeConfig: KubeConfig
  /** Namespaces whose labelled ConfigMaps and annotated Services are watched. */
  namespaces: string[]
  /** This replica: its Pod (from the downward API), for the Lease and the leader label. */
  pod: { namespace: string, name: string }
  /** Lease name; leader election is on when given. */
  leaseName?: string | undefined
  log: Logger
  /** The edges' public secrets key and the mesh: private values from Secrets are sealed to it. */
  sealTo?: { key: SecretsPublicKey, mesh: string } | undefined
  /** Where the API-failure counter is registered (the publisher's registry). */
  registry?: Registry | undefined
  timing?: { leaseDurationMs?: number, renewDeadlineMs?: number, retryPeriodMs?: number, retryMinMs?: number, statusResyncMs?: number } | undefined
}

/** Exactly the publisher options they fill in, so callers spread them into `createPublisher`. */
export type KubernetesParts = Pick<PublisherOptions, 'reporters' | 'rolloutReporters' | 'stateStore' | 'leadership' | 'onLeadershipChange' | 'routeStatus' | 'rolloutPolicy'> & { source: KubernetesSource }

/** The ConfigMap, in the publisher's own namespace, that keeps the newest config across restarts and leader changes. */
export const STATE_CONFIG_MAP = 'dime-publisher-state'

/** The publisher's parts that talk to Kubernetes, for `dime publisher --kubernetes`. */
export function kubernetesParts (init: KubernetesPartsInit): KubernetesParts {
  const core = init.kubeConfig.makeApiClient(CoreV1Api)
  const failures = new Counter({
    name: 'dime_publisher_kubernetes_failures_total',
    help: 'Lists and watches against the Kubernetes API that failed (each is retried with backoff), by resource',
    labelNames: ['resource'] as const,
    registers: init.registry !== undefined ? [init.registry] : []
  })
  const sealTo = init.sealTo
  const source = new KubernetesSource({
    kubeConfig: init.kubeConfig,
    namespaces: init.namespaces,
    log: init.log,
    countFailure: (resource, count = 1) => { failures.inc({ resource }, count) },
    seal: sealTo === undefined ? undefined : async (plaintext: string) => await sealSecret(plaintext, sealTo.key, sealTo.mesh),
    retryMinMs: init.timing?.retryMinMs,
    ownNamespace: init.pod.namespace
  })
  const events = new EventRecorder(core, init.pod.name, init.log)
  const reporter: FragmentReporter = {
    fragmentChanged (report) {
      const object = source.objectOf(report.source)
      if (object === undefined) return
      if (report.status === 'accepted') {
        events.record(object, 'Normal', EVENT_REASONS.accepted, `fragment ${report.source} is valid again and published`)
        return
      }
      const reason = report.problem === 'conflict' ? EVENT_REASONS.conflict : report.status === 'kept-last-good' ? EVENT_REASONS.keptLastGood : EVENT_REASONS.invalid
      const outcome = report.status === 'kept-last-good' ? 'its last good content is still published' : 'it is left out of the config'
      events.record(object, 'Warning', reason, `fragment ${report.source} ${report.reason ?? 'is broken'}; ${outcome}`)
    },
    routePending (pending) {
      const object = source.objectOf(pending.source)
      if (object !== undefined) events.record(object, 'Normal', EVENT_REASONS.pending, `not routed yet: ${pending.reason}`)
    },
    pinChanged (pin) {
      const pod = { apiVersion: 'v1', kind: 'Pod', ...init.pod }
      if (pin === undefined) events.record(pod, 'Normal', EVENT_REASONS.unpinned, UNPINNED)
      else events.record(pod, 'Warning', EVENT_REASONS.pinned, describePin(pin))
    }
  }
  const rolloutReporter: RolloutReporter = {
    rolloutEnded (rollout, changed) {
      const pod = { apiVersion: 'v1', kind: 'Pod', ...init.pod }
      if (rollout.state === 'complete') {
        events.record(pod, 'Normal', EVENT_REASONS.rolloutComplete, `version ${rollout.version} reached every edge${rollout.reason === null ? ', wave by wave' : `: ${rollout.reason}`}`)
        return
      }
      if (rollout.state !== 'rolled-back') return
      const message = `version ${rollout.version} rolled back: ${rollout.reason ?? ''}. The last released config is served again; this build is held back until the fragments change`
      for (const object of changed.map(fragment => source.objectOf(fragment))) {
        if (object !== undefined) events.record(object, 'Warning', EVENT_REASONS.rolledBack, message)
      }
      events.record(pod, 'Warning', EVENT_REASONS.rolledBack, message)
    }
  }
  const stateStore = configMapEnvelopeStore(core, { namespace: init.pod.namespace, name: STATE_CONFIG_MAP, log: init.log })
  const apis = { networking: init.kubeConfig.makeApiClient(NetworkingV1Api), custom: init.kubeConfig.makeApiClient(CustomObjectsApi) }
  const routeStatus = new StatusWriter({
    targets: (view, now) => statusTargets(source, apis, view, now),
    log: init.log,
    resyncMs: init.timing?.statusResyncMs,
    retryMinMs: init.timing?.retryMinMs
  })
  const rolloutPolicy = source.rolloutPolicy()
  const rolloutReporters = [rolloutReporter]
  if (init.leaseName === undefined) return { source, reporters: [reporter], rolloutReporters, stateStore, routeStatus, rolloutPolicy }
  const leadership = new LeaderElector({ leases: init.kubeConfig.makeApiClient(CoordinationV1Api) }, {
    namespace: init.pod.namespace,
    leaseName: init.leaseName,
    identity: init.pod.name,
    log: init.log,
    ...init.timing
  })
  return {
    source,
    reporters: [reporter],
    rolloutReporters,
    stateStore,
    routeStatus,
    rolloutPolicy,
    leadership,
    onLeadershipChange: async leading => { await labelOwnPod(core, init.pod, leading, init.log) }
  }
}
