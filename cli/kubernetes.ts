import type { KubeConfig } from '@kubernetes/client-node'
import { loadKubeConfig } from '../cluster-publisher/kubernetes/kube-config.js'
import { UsageError } from './usage-error.js'

export function kubeConfigFor (kubeconfig: string | undefined): KubeConfig {
  try {
    return loadKubeConfig(kubeconfig)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}
