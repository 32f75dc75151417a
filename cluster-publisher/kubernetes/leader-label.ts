import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node'
import type { Logger } from '../../node/logger.js'

/** The label the leader carries; the libp2p Service selects it, so edges always reach the leader. */
export const LEADER_LABEL = 'cdn-on-a-dime.io/leader'

/** Sets or removes the leader label on this replica's own Pod (best effort, logged). */
export async function labelOwnPod (core: CoreV1Api, pod: { namespace: string, name: string }, leader: boolean, log: Logger): Promise<void> {
  try {
    await core.patchNamespacedPod(
      { namespace: pod.namespace, name: pod.name, body: { metadata: { labels: { [LEADER_LABEL]: leader ? 'true' : null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  } catch (err) {
    log.warn({ err: (err as Error).message, pod: `${pod.namespace}/${pod.name}`, leader }, 'could not label the pod; the mesh Service may not reach this replica')
  }
}
