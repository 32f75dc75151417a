import test, { type ExecutionContext } from 'ava'
import { Ajv } from 'ajv'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { commandExists, freePort, stopProcess } from '../../cli/processes.js'
import { waitFor } from '../../simulations/wait-for.js'
import { DIME, dime } from '../fixtures/dime-process.js'
import { tempDir } from '../fixtures/temp-dir.js'

const ANSIBLE = fileURLToPath(new URL('../../ansible/', import.meta.url))
const TOKEN = 'token-that-must-never-be-printed'
const PUBLIC_ADDRESS = '203.0.113.7'
const DNS_SECRET = 'dns-secret-that-must-never-be-printed'
/** The image's user, who must be able to read the secrets. */
const CONTAINER_UID = 1000

function unavailable (): string | undefined {
  const missing = ['ansible-playbook', 'ansible-lint'].filter(command => !commandExists(command))
  if (missing.length > 0) return `${missing.join(' and ')} not installed (apt-get install ansible ansible-lint; .ci/run does)`
  if (process.getuid?.() !== 0) return 'needs root, to give files to the container\'s user'
  return undefined
}

interface Run { code: number, output: string }

async function run (command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return await new Promise(resolve => {
    execFile(command, args, { cwd: ANSIBLE, timeout: 120_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', NO_COLOR: '1', ...extraEnv } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
    })
  })
}

function recap (output: string): { changed: number, failed: number } {
  const line = /localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(output)
  return { changed: Number(line?.[1] ?? NaN), failed: Number(line?.[2] ?? NaN) }
}

/** Keys from `dime keygen` and the variables the role is run with, under a scratch root. */
async function scratchEdge (t: ExecutionContext, mode: 'unit' | 'quadlet'): Promise<{ root: string, vars: string, swarmKey: string, secretsKey: string }> {
  const root = await tempDir(t)
  await dime('keygen', '--out', join(root, 'keys'))
  const swarmKey = await readFile(join(root, 'keys', 'swarm.key'), 'utf8')
  const vars = join(root, 'vars.json')
  await writeFile(vars, JSON.stringify({
    edge_test_root: root,
    dime_trusted_keys: [await readFile(join(root, 'keys', 'publisher.pub'), 'utf8')],
    dime_swarm_key: swarmKey,
    dime_token: TOKEN,
    dime_secrets_key: await readFile(join(root, 'keys', 'secrets.key'), 'utf8'),
    dime_edge_public_address: PUBLIC_ADDRESS,
    dime_edge_labels: { tier: 'canary', region: 'eu' },
    traefik_acme_dns_environment: { CF_DNS_API_TOKEN: DNS_SECRET },
    edge_systemd_mode: mode
  }))
  return { root, vars, swarmKey, secretsKey: await readFile(join(root, 'keys', 'secrets.key'), 'utf8') }
}

async function layDown (vars: string): Promise<Run> {
  return await run('ansible-playbook', ['-i', 'localhost,', 'tests/edge-files.yml', '-e', `@${vars}`, '--skip-tags', 'packages'])
}

const reason = unavailable()
const ansibleTest = reason === undefined ? test.serial : test.skip
const skipped = reason === undefined ? '' : ` (skipped: ${reason})`

ansibleTest(`every playbook passes ansible-playbook --syntax-check and ansible-lint's production profile${skipped}`, async t => {
  for (const [inventory, playbook] of [['inventory.example.yml', 'site.yml'], ['localhost,', 'tests/edge-files.yml']] as const) {
    const result = await run('ansible-playbook', ['--syntax-check', '-i', inventory, playbook])
    t.is(result.code, 0, result.output)
  }
  const lint = await run('ansible-lint', ['--offline', '--profile', 'production', '--nocolor'])
  t.is(lint.code, 0, lint.output)
})

ansibleTest(`the edge role lays down its files once, secrets 0600 and never printed, and a second run changes nothing${skipped}`, async t => {
  const { root, vars, swarmKey, secretsKey } = await scratchEdge(t, 'unit')
  const first = await layDown(vars)
  t.deepEqual({ failed: recap(first.output).failed, changedSome: recap(first.output).changed > 0 }, { failed: 0, changedSome: true }, first.output)
  const second = await layDown(vars)
  t.deepEqual(recap(second.output), { changed: 0, failed: 0 }, second.output)
  for (const secret of [TOKEN, DNS_SECRET, swarmKey.trim().split('\n').at(-1) ?? swarmKey, secretsKey.split('\n')[1] ?? secretsKey]) {
    t.false(first.output.includes(secret) || second.output.includes(secret), 'a secret was printed')
  }
  for (const [path, mode, uid] of [
    ['etc/dime/swarm.key', 0o600, CONTAINER_UID], ['etc/dime/token', 0o600, CONTAINER_UID], ['etc/dime/secrets.key', 0o600, CONTAINER_UID], ['etc/dime/edge.env', 0o600, 0],
    ['etc/traefik/traefik.yml', 0o600, 0], ['etc/traefik/traefik.env', 0o600, 0], ['var/lib/dime-edge', 0o700, CONTAINER_UID]
  ] as const) {
    const info = await stat(join(root, path))
    t.deepEqual({ path, mode: info.mode & 0o777, uid: info.uid }, { path, mode, uid })
  }
})

ansibleTest(`Traefik's static configuration fits its schema and polls the edge on loopback with the token${skipped}`, async t => {
  const { root, vars } = await scratchEdge(t, 'unit')
  t.is((await layDown(vars)).code, 0)
  const config = parse(await readFile(join(root, 'etc/traefik/traefik.yml'), 'utf8')) as { providers: { http: { endpoint: string, headers: Record<string, string> } } }
  const schema = JSON.parse(await readFile(join(ANSIBLE, 'tests/traefik-static-subset.schema.json'), 'utf8')) as object
  const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema)
  t.true(validate(config), JSON.stringify(validate.errors, null, 2))
  t.is(config.providers.http.endpoint, 'http://127.0.0.1:8088/config')
  t.is(config.providers.http.headers.Authorization, `Bearer ${TOKEN}`)
  t.deepEqual((config as unknown as { metrics: unknown }).metrics, { prometheus: { entryPoint: 'metrics', addServicesLabels: true } }, 'Prometheus metrics on loopback, with service labels, for the rollout gate')
  t.regex(await readFile(join(root, 'etc/dime/edge.env'), 'utf8'), /^DIME_PROXY_METRICS=http:\/\/127\.0\.0\.1:8082\/metrics$/m)
  // The same schema refuses a key Traefik would not know.
  t.false(validate({ ...config, providers: { http: { ...config.providers.http, endpiont: 'x' } } }))
})

ansibleTest(`dime edge starts from the rendered environment and answers only Traefik's token${skipped}`, async t => {
  const { root, vars } = await scratchEdge(t, 'unit')
  t.is((await layDown(vars)).code, 0)
  const port = await freePort()
  const env: Record<string, string> = {}
  for (const line of (await readFile(join(root, 'etc/dime/edge.env'), 'utf8')).split('\n')) {
    const match = /^(DIME_[A-Z_]+)=(.*)$/.exec(line)
    // Container paths are the scratch root's; the addresses are free ones on this machine.
    if (match !== null) env[match[1] ?? ''] = (match[2] ?? '').replaceAll('/etc/dime', join(root, 'etc/dime')).replaceAll('/var/lib/dime-edge', join(root, 'var/lib/dime-edge'))
  }
  Object.assign(env, { DIME_SERVE: `127.0.0.1:${port}`, DIME_LISTEN: '/ip4/127.0.0.1/tcp/0' })
  const child = spawn(process.execPath, [DIME, 'edge'], { stdio: 'ignore', env: { ...process.env, ...env } })
  t.teardown(async () => { await stopProcess(child) })
  const url = `http://127.0.0.1:${port}`
  await waitFor('the edge answers /healthz', async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined, 60_000, 50)
  t.is((await fetch(`${url}/config`)).status, 401)
  t.is((await fetch(`${url}/config`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 503, 'authorised, and no config yet')
  const status = await (await fetch(`${url}/status`)).json() as { publicAddress: string | null, name: string | null, labels: Record<string, string> }
  t.is(status.publicAddress, PUBLIC_ADDRESS)
  t.is(status.name, 'localhost', 'named after the inventory host')
  t.deepEqual(status.labels, { tier: 'canary', region: 'eu' })
})

ansibleTest(`the units are valid: systemd-analyze verify for plain units, quadlet's own dry run where Podman has it${skipped}`, async t => {
  const plain = await scratchEdge(t, 'unit')
  t.is((await layDown(plain.vars)).code, 0)
  const services = (await readdir(join(plain.root, 'etc/systemd/system'))).sort()
  t.deepEqual(services, ['dime-edge.service', 'traefik.service'])
  t.regex(await readFile(join(plain.root, 'etc/systemd/system/dime-edge.service'), 'utf8'), /^ExecStart=\/usr\/bin\/podman run .* --read-only .* edge$/m)
  if (commandExists('systemd-analyze') && existsSync('/usr/bin/podman')) {
    const verify = await run('systemd-analyze', ['verify', ...services.map(name => join(plain.root, 'etc/systemd/system', name))])
    t.is(verify.code, 0, verify.output)
  } else {
    t.log('systemd-analyze verify not run: it needs systemd-analyze and /usr/bin/podman (apt-get install podman)')
  }

  const quadlet = await scratchEdge(t, 'quadlet')
  t.is((await layDown(quadlet.vars)).code, 0)
  const containers = (await readdir(join(quadlet.root, 'etc/containers/systemd'))).sort()
  t.deepEqual(containers, ['dime-edge.container', 'traefik.container'])
  const edgeUnit = await readFile(join(quadlet.root, 'etc/containers/systemd/dime-edge.container'), 'utf8')
  t.regex(edgeUnit, /^Exec=edge$/m)
  t.regex(edgeUnit, /^Network=host$/m)
  t.regex(edgeUnit, /^ReadOnly=true$/m, 'the edge runs on a read-only root filesystem, as the image test runs it')
  const generator = '/usr/libexec/podman/quadlet'
  if (existsSync(generator)) {
    const dry = await run(generator, ['-dryrun'], { QUADLET_UNIT_DIRS: join(quadlet.root, 'etc/containers/systemd') })
    t.is(dry.code, 0, dry.output)
  } else {
    t.log(`quadlet's dry run not run: ${generator} is missing (Podman before 4.4)`)
  }
})

test('site.yml upgrades edges a batch at a time (a quarter by default, -e dime_edge_batch=N), stopping at the first edge that fails; each waits to serve before the next batch', async t => {
  const plays = parse(await readFile(join(ANSIBLE, 'site.yml'), 'utf8')) as Array<{ roles: string[], serial?: string, max_fail_percentage?: number }>
  const edgePlay = plays.find(play => play.roles.includes('dime_edge'))
  t.is(edgePlay?.serial, "{{ dime_edge_batch | default('25%') }}")
  t.is(edgePlay?.max_fail_percentage, 0)
  const services = parse(await readFile(join(ANSIBLE, 'roles/dime_edge/tasks/services.yml'), 'utf8')) as Array<Record<string, unknown>>
  const restart = services.findIndex(task => task['ansible.builtin.meta'] === 'flush_handlers')
  const wait = services.findIndex(task => (task['ansible.builtin.uri'] as { url?: string } | undefined)?.url?.endsWith('/readyz') === true)
  t.true(restart >= 0 && wait > restart, 'the wait for /readyz follows the restart')
})
