import test from 'ava'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { FRAGMENT_LABEL } from '../../cluster-publisher/constants.js'
import { fragmentFromText } from '../../cluster-publisher/fragment-files.js'
import { createFragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import { LEADER_LABEL } from '../../cluster-publisher/kubernetes/leader-label.js'
import { ANNOTATIONS, routeFromService } from '../../cluster-publisher/kubernetes/service-routes.js'
import { isEdgeIngress, routeFromIngress } from '../../cluster-publisher/kubernetes/ingress-routes.js'
import type { Gateway, GatewayClass, HTTPRoute } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { certificatesFromGateway, routeFromHTTPRoute } from '../../cluster-publisher/kubernetes/gateway-routes.js'
import { resolveSecretReferences } from '../../cluster-publisher/secret-references.js'
import type { V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node'
import { loadTraefikSchema } from '../../cluster-publisher/traefik-schema.js'
import { dime } from '../fixtures/dime-process.js'

const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url))

interface Manifest {
  file: string
  object: { apiVersion: string, kind: string, metadata?: { name?: string, labels?: Record<string, string> }, [key: string]: unknown }
}

function yamlFiles (directory: string): string[] {
  return readdirSync(directory).flatMap(name => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? yamlFiles(path) : /\.ya?ml$/.test(name) ? [path] : []
  })
}

const manifests: Manifest[] = yamlFiles(MANIFESTS).flatMap(path => parseAllDocuments(readFileSync(path, 'utf8'))
  .map(document => ({ file: relative(MANIFESTS, path), object: document.toJS() as Manifest['object'] })))
const kubernetesObjects = manifests.filter(manifest => manifest.object.kind !== 'Kustomization')

/** The object of that kind and name, read as the shape the test cares about. */
function find<T> (kind: string, name?: string): T {
  const found = manifests.find(manifest => manifest.object.kind === kind && (name === undefined || manifest.object.metadata?.name === name))
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''} in manifests/`)
  return found.object as unknown as T
}

for (const { file, object } of kubernetesObjects) {
  test(`${file}: ${object.kind} ${object.metadata?.name ?? ''} is valid against the Kubernetes schema`, async t => {
    const modulePath = object.apiVersion.startsWith('gateway.networking.k8s.io/') ? `@kubernetes-models/gateway-api/${object.apiVersion}`
      : object.apiVersion.startsWith('monitoring.coreos.com/') ? `@kubernetes-models/prometheus-operator/${object.apiVersion}` : `kubernetes-models/${object.apiVersion}`
    const models = await import(modulePath) as Record<string, new (data: unknown) => { validate: () => void }>
    const Model = models[object.kind]
    if (Model === undefined) { t.fail(`no model for ${object.apiVersion} ${object.kind}`); return }
    t.notThrows(() => { new Model(object).validate() })
  })
}

/** The resources a kustomization lists. */
function listed (file: string): string[] {
  const found = manifests.find(manifest => manifest.file === file && manifest.object.kind === 'Kustomization')
  return [...(found?.object as { resources?: string[] } | undefined)?.resources ?? []].sort()
}

test('the kustomization lists every manifest outside fragments/, examples/ and the optional monitoring/, and only files that exist', t => {
  const files = yamlFiles(MANIFESTS).map(path => relative(MANIFESTS, path)).filter(path => path !== 'kustomization.yaml' && !/^(fragments|examples|monitoring)\//.test(path)).sort()
  t.deepEqual(listed('kustomization.yaml'), files)
})

test('the monitoring kustomization lists its manifests and generates the dashboard\'s ConfigMap from the JSON beside them', t => {
  const files = yamlFiles(join(MANIFESTS, 'monitoring')).map(path => relative(join(MANIFESTS, 'monitoring'), path)).filter(path => path !== 'kustomization.yaml').sort()
  t.deepEqual(listed('monitoring/kustomization.yaml'), files)
  const kustomization = manifests.find(manifest => manifest.file === 'monitoring/kustomization.yaml')?.object as { configMapGenerator?: Array<{ files: string[] }> } | undefined
  for (const file of kustomization?.configMapGenerator?.flatMap(generator => generator.files) ?? []) t.notThrows(() => { JSON.parse(readFileSync(join(MANIFESTS, 'monitoring', file), 'utf8')) }, file)
})

test('every route fragment in the manifests is valid Traefik configuration', t => {
  const validate = createFragmentValidator(loadTraefikSchema())
  const fragments = kubernetesObjects.filter(({ object }) => object.kind === 'ConfigMap' && object.metadata?.labels?.[FRAGMENT_LABEL] === 'true')
  t.true(fragments.length >= 3)
  for (const { file, object } of fragments) {
    for (const [key, text] of Object.entries(object.data as Record<string, string>)) {
      const fragment = fragmentFromText(`${file}/${key}`, text)
      t.false('error' in fragment, `${file}/${key}`)
      if ('content' in fragment) t.is(validate(fragment.content), undefined, `${file}/${key}`)
    }
  }
})

test('every annotated Service in the manifests makes a route that is valid Traefik configuration, with its Secrets resolved', async t => {
  const validate = createFragmentValidator(loadTraefikSchema())
  const services = kubernetesObjects.filter(({ object }) => object.kind === 'Service' && (object.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[ANNOTATIONS.hosts] !== undefined)
  t.true(services.length >= 4)
  const anySecret = (): Record<string, string> => ({ 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA', users: 'alice:hash\nbob:hash' })
  for (const { file, object } of services) {
    const service = { ...object, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } } as unknown as V1Service
    const fragment = routeFromService(service)?.fragment
    t.true(fragment !== undefined && 'content' in fragment, `${file}: ${JSON.stringify(fragment)}`)
    if (fragment === undefined || !('content' in fragment)) continue
    const resolved = await resolveSecretReferences(fragment.content, anySecret, async plaintext => `sealed(${plaintext.length})`)
    t.false('error' in resolved, `${file}: ${JSON.stringify(resolved)}`)
    if ('content' in resolved) t.is(validate(resolved.content), undefined, `${file} ${object.metadata?.name ?? ''}`)
  }
})

test('the Deployment runs the publisher with flags that exist, and the mesh Service reaches only the leader', async t => {
  const deployment = find<{ spec: { replicas: number, template: { spec: { containers: Array<{ args: string[] }> } } } }>('Deployment', 'dime-publisher')
  t.is(deployment.spec.replicas, 2)
  const args = deployment.spec.template.spec.containers[0]?.args ?? []
  const help = (await dime('publisher', '--help')).stdout
  for (const flag of args.filter(arg => arg.startsWith('--')).map(arg => arg.split('=')[0] ?? '')) {
    t.true(help.includes(flag), `${flag} is not a flag of dime publisher`)
  }
  const service = find<{ spec: { selector: Record<string, string> } }>('Service', 'dime-publisher-mesh')
  t.is(service.spec.selector[LEADER_LABEL], 'true')
})

test('every Ingress in the manifests is the edges\' and makes routes that are valid Traefik configuration, with its Secrets resolved', async t => {
  const validate = createFragmentValidator(loadTraefikSchema())
  const classes = kubernetesObjects.filter(({ object }) => object.kind === 'IngressClass').map(({ object }) => object as unknown as V1IngressClass)
  const ingresses = kubernetesObjects.filter(({ object }) => object.kind === 'Ingress')
  t.true(ingresses.length >= 1)
  const withAddress = (object: Manifest['object']): V1Service => ({ ...object, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } })
  for (const { file, object } of ingresses) {
    const ingress = object as unknown as V1Ingress
    t.true(isEdgeIngress(ingress, classes), `${file}: ${ingress.spec?.ingressClassName ?? '(no class)'}`)
    const serviceNamed = (name: string): V1Service | undefined => {
      const found = kubernetesObjects.find(({ object: o }) => o.kind === 'Service' && o.metadata?.name === name)
      return found === undefined ? undefined : withAddress(found.object)
    }
    const fragment = routeFromIngress(ingress, serviceNamed).fragment
    t.true(fragment !== undefined && 'content' in fragment, `${file}: ${JSON.stringify(fragment)}`)
    if (fragment === undefined || !('content' in fragment)) continue
    const resolved = await resolveSecretReferences(fragment.content, () => ({ 'tls.crt': 'CERT', 'tls.key': 'KEY' }), async plaintext => `sealed(${plaintext.length})`)
    t.false('error' in resolved, `${file}: ${JSON.stringify(resolved)}`)
    if ('content' in resolved) t.is(validate(resolved.content), undefined, `${file} ${object.metadata?.name ?? ''}`)
  }
})

test('every HTTPRoute in the manifests is on an edge Gateway and makes routes that are valid Traefik configuration, as do the Gateways\' certificates', async t => {
  const validate = createFragmentValidator(loadTraefikSchema())
  const objects = (kind: string): Array<Manifest['object']> => kubernetesObjects.filter(({ object }) => object.kind === kind).map(({ object }) => object)
  const classes = objects('GatewayClass') as unknown as GatewayClass[]
  const gateways = objects('Gateway') as unknown as Gateway[]
  const routes = objects('HTTPRoute') as unknown as HTTPRoute[]
  t.true(routes.length >= 1)
  const serviceNamed = (name: string): V1Service | undefined => {
    const found = objects('Service').find(o => o.metadata?.name === name)
    return found === undefined ? undefined : { ...found, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } }
  }
  const fragments = [
    ...routes.map(route => routeFromHTTPRoute(route, { gateway: (namespace, name) => gateways.find(g => g.metadata?.namespace === namespace && g.metadata.name === name), classes, serviceNamed })?.fragment),
    ...gateways.map(gateway => certificatesFromGateway(gateway)?.fragment)
  ]
  for (const fragment of fragments) {
    t.true(fragment !== undefined && 'content' in fragment, JSON.stringify(fragment))
    if (fragment === undefined || !('content' in fragment)) continue
    const resolved = await resolveSecretReferences(fragment.content, () => ({ 'tls.crt': 'CERT', 'tls.key': 'KEY' }), async plaintext => `sealed(${plaintext.length})`)
    if ('content' in resolved) t.is(validate(resolved.content), undefined, fragment.source)
    else t.fail(resolved.error)
  }
})

interface KustomizeImage { name: string, newName?: string, newTag?: string }

/** An image reference as kustomize's images: field rewrites it: matched by name (without tag or digest), given a new name and tag. */
function kustomizedImage (reference: string, images: KustomizeImage[]): string {
  const name = reference.replace(/@.*$/, '').replace(/:[^/:]*$/, '')
  const image = images.find(candidate => candidate.name === name)
  if (image === undefined) return reference
  const tag = image.newTag ?? (reference.slice(name.length).startsWith(':') ? reference.slice(name.length + 1) : undefined)
  return `${image.newName ?? name}${tag === undefined ? '' : `:${tag}`}`
}

test('kubectl apply -k manifests/ asks for the release\'s image: kustomize\'s images: sets the Deployment\'s tag to package.json\'s version, and the result is still a valid Deployment', async t => {
  const { version } = JSON.parse(readFileSync(join(MANIFESTS, '../package.json'), 'utf8')) as { version: string }
  const images = (find<{ images?: KustomizeImage[] }>('Kustomization')).images ?? []
  const deployment = structuredClone(find<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>('Deployment', 'dime-publisher'))
  for (const container of deployment.spec.template.spec.containers) container.image = kustomizedImage(container.image, images)
  t.deepEqual(deployment.spec.template.spec.containers.map(container => container.image), [`ghcr.io/cdn-on-a-dime/dime:${version}`])
  const { Deployment } = await import('kubernetes-models/apps/v1')
  t.notThrows(() => { new Deployment(deployment as unknown as ConstructorParameters<typeof Deployment>[0]).validate() })
})
