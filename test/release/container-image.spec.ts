import test, { type ExecutionContext } from 'ava'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { chmod, chown, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { keysAndFragments, logged, spawnDime } from '../fixtures/dime-process.js'
import { routeFragment, writeFragment } from '../fixtures/mesh.js'
import { LIMITS, PODMAN, buildImage, containerfileBase, debianSlimStandIn, imageTestUnavailable, podman } from '../fixtures/container-image.js'
import { waitFor } from '../../simulations/wait-for.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const IMAGE = 'localhost/dime:test'
// The image's user, as the Deployment (runAsUser) and the Ansible role (dime_container_uid) expect it.
const UID = 1000

const unavailable = imageTestUnavailable()
const imageTest = unavailable === undefined ? test.serial : test.serial.skip
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`

test.before(async t => {
  if (unavailable !== undefined) return
  // The base comes from Debian's archive and the build stage installs every package: minutes, not seconds.
  t.timeout(30 * 60_000, 'building the image')
  await debianSlimStandIn()
  await buildImage(IMAGE)
})

/** Runs a container of the image to completion: its exit code and output. */
async function runImage (...args: string[]): Promise<{ code: number, output: string }> {
  return await new Promise(resolve => {
    execFile('podman', [...PODMAN, 'run', '--rm', ...LIMITS, '--read-only', ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
    })
  })
}

/** A long-running container of the image, as the Ansible unit and the Deployment run it (host network, read-only root), removed when the test ends. */
function startContainer (t: ExecutionContext, name: string, args: string[]): ReturnType<typeof spawnDime> & { containerName: string } {
  const containerName = `dime-test-${name}-${randomBytes(4).toString('hex')}`
  const child = spawnDime(t, [], { launcher: ['podman', ...PODMAN, 'run', '--rm', '--name', containerName, ...LIMITS, '--read-only', '--network', 'host', ...args] })
  t.teardown(async () => { await podman('rm', '-f', '--ignore', containerName).catch(() => undefined) })
  return Object.assign(child, { containerName })
}

/** Stops a container as systemd and the kubelet do (SIGTERM) and resolves with its exit code. */
async function stopContainer (container: ReturnType<typeof startContainer>): Promise<number | null> {
  const exited = new Promise<number | null>(resolve => { container.once('close', code => { resolve(code) }) })
  await podman('stop', '-t', '20', container.containerName)
  return await exited
}

/** Bytes of the packages `npm ci --omit=dev` would install: what the bundle in dist/ replaces. */
async function productionNodeModulesBytes (): Promise<number> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean, optional?: boolean }> }
  const paths = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true).map(([path]) => join(ROOT, path))
  const { stdout } = await promisify(execFile)('du', ['-sbc', ...paths], { maxBuffer: 16 * 2 ** 20 })
  return Number(/^(\d+)\s+total$/m.exec(stdout)?.[1])
}

function mib (bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

imageTest(`the image runs dime as its unprivileged user, on a read-only root filesystem, and says its version${skipped}`, async t => {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const help = await runImage(IMAGE)
  t.is(help.code, 0, help.output)
  t.regex(help.output, /Usage: dime/)
  const versionRun = await runImage(IMAGE, '--version')
  t.true(versionRun.output.startsWith(`dime ${version}, mesh protocol`), versionRun.output)
  const user = await runImage('--entrypoint', 'id', IMAGE, '-u')
  t.is(user.output.trim(), String(UID))
})

imageTest(`the image stays small: the bundle in it is smaller than the production node_modules it replaces${skipped}`, async t => {
  const imageBytes = Number((await podman('image', 'inspect', '--format', '{{.Size}}', IMAGE)).trim())
  const { image: base } = await containerfileBase()
  const baseBytes = Number((await podman('image', 'inspect', '--format', '{{.Size}}', base)).trim())
  const app = await runImage('--entrypoint', 'du', IMAGE, '-sb', '/app')
  const appBytes = Number(app.output.split(/\s/)[0])
  const nodeModules = await productionNodeModulesBytes()
  t.log(`image ${mib(imageBytes)}: ${base} ${mib(baseBytes)}, Debian's nodejs ${mib(imageBytes - baseBytes - appBytes)}, dime ${mib(appBytes)} (production node_modules: ${mib(nodeModules)})`)
  t.true(appBytes > 0 && appBytes < nodeModules)
})

imageTest(`the publisher runs from the image with its keys mounted read-only; an edge from the image, run as the Ansible unit runs it, serves its config, stops on SIGTERM and serves the persisted config again with the publisher gone${skipped}`, async t => {
  t.timeout(10 * 60_000)
  const { dir, keys, fragments } = await keysAndFragments(t)
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com'))
  // As the Secret's volume gives them to the publisher's user (fsGroup), and the Ansible role to the edge's.
  await chmod(keys, 0o755)
  for (const file of ['publisher.key', 'swarm.key']) await chown(join(keys, file), UID, UID)
  const edgeConfig = join(dir, 'edge-config')
  const edgeData = join(dir, 'edge-data')
  await mkdir(join(edgeConfig, 'trust'), { recursive: true })
  await copyFile(join(keys, 'publisher.pub'), join(edgeConfig, 'trust/publisher-0.pub'))
  await copyFile(join(keys, 'swarm.key'), join(edgeConfig, 'swarm.key'))
  await chown(join(edgeConfig, 'swarm.key'), UID, UID)
  await mkdir(edgeData, { mode: 0o700 })
  await chown(edgeData, UID, UID)

  const publisher = startContainer(t, 'publisher', ['--volume', `${keys}:/var/run/secrets/dime:ro`, '--volume', `${fragments}:/fragments:ro`, IMAGE,
    'publisher', '--fragments', '/fragments', '--key', '/var/run/secrets/dime/publisher.key', '--swarm-key', '/var/run/secrets/dime/swarm.key',
    '--listen', '/ip4/127.0.0.1/tcp/0', '--admin', '127.0.0.1:0'])
  const bootstrap = await logged(publisher, 'mesh node listening', 'addresses')
  // The environment file the Ansible role writes (edge.env.j2), with paths inside the container.
  await writeFile(join(edgeConfig, 'edge.env'), ['DIME_TRUST=/etc/dime/trust/publisher-0.pub', 'DIME_SWARM_KEY=/etc/dime/swarm.key', `DIME_BOOTSTRAP=${bootstrap}`,
    'DIME_LISTEN=/ip4/127.0.0.1/tcp/0', 'DIME_DATA_DIR=/var/lib/dime-edge', 'DIME_SERVE=127.0.0.1:0', 'DIME_NAME=edge-in-a-container', ''].join('\n'))
  const asTheUnitRunsIt = ['--env-file', join(edgeConfig, 'edge.env'), '--volume', `${edgeConfig}:/etc/dime:ro`, '--volume', `${edgeData}:/var/lib/dime-edge`, IMAGE, 'edge']

  const edge = startContainer(t, 'edge', asTheUnitRunsIt)
  const config = await logged(edge, 'serving Traefik config', 'url')
  const served = await waitFor(() => `the edge serves the publisher's config (edge:\n${edge.output().slice(-3000)}\npublisher:\n${publisher.output().slice(-3000)})`, async () => {
    const response = await fetch(config).catch(() => undefined)
    const body = response?.status === 200 ? await response.text() : undefined
    return body?.includes('app.example.com') === true ? body : undefined
  }, 180_000)
  t.is(await stopContainer(edge), 0, `the edge stops cleanly on SIGTERM:\n${edge.output().slice(-2000)}`)
  t.is(await stopContainer(publisher), 0, `the publisher stops cleanly on SIGTERM:\n${publisher.output().slice(-2000)}`)
  t.is((await stat(edgeData)).uid, UID)

  const again = startContainer(t, 'edge-again', asTheUnitRunsIt)
  const configAgain = await logged(again, 'serving Traefik config', 'url')
  const servedAgain = await waitFor(() => `the restarted edge serves its persisted config (edge:\n${again.output().slice(-3000)})`, async () => {
    const response = await fetch(configAgain).catch(() => undefined)
    return response?.status === 200 ? await response.text() : undefined
  }, 60_000)
  t.is(servedAgain, served, 'the same bytes as before, from the data directory, with no publisher')
})
