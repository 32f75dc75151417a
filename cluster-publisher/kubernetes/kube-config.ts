import { KubeConfig } from '@kubernetes/client-node'

/**
 * The API server to talk to: the kubeconfig file given, the pod's service
 * account when running in a cluster, or the usual ~/.kube/config otherwise.
 */
export function loadKubeConfig (kubeconfig: string | undefined): KubeConfig {
  const config = new KubeConfig()
  try {
    if (kubeconfig !== undefined) config.loadFromFile(kubeconfig)
    else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) config.loadFromCluster()
    else config.loadFromDefault()
  } catch (err) {
    throw new Error(`cannot load Kubernetes configuration${kubeconfig !== undefined ? ` from ${kubeconfig}` : ''}: ${(err as Error).message}`)
  }
  if (config.getCurrentCluster() === null) {
    throw new Error(`no current cluster in the Kubernetes configuration${kubeconfig !== undefined ? ` ${kubeconfig}` : ''}; pass --kubeconfig or run in a pod`)
  }
  return config
}
