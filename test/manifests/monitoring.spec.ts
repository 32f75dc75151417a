import test from 'ava'
import { execFile, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse, stringify } from 'yaml'
import { commandExists, freePort, stopProcess } from '../../cli/processes.js'
import { GATEWAY_CONTROLLER } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { dime, logged, spawnDime } from '../fixtures/dime-process.js'
import { fakeKubeApi, fragmentConfigMap, kubePublisherProcess } from '../fixtures/kube.js'
import { routeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

const run = promisify(execFile)
const MONITORING = fileURLToPath(new URL('../../manifests/monitoring/', import.meta.url))

interface AlertRule { alert: string, expr: string, for: string, labels: Record<string, string>, annotations: Record<string, string> }
interface Groups { groups: Array<{ name: string, rules: AlertRule[] }> }

const rules = (parse(await readFile(join(MONITORING, 'prometheus-rule.yaml'), 'utf8')) as { spec: Groups }).spec
const alerts = rules.groups.flatMap(group => group.rules)
const dashboard = JSON.parse(await readFile(join(MONITORING, 'dime-dashboard.json'), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
const dashboardExpressions = dashboard.panels.flatMap(panel => panel.targets.map(target => ({ title: panel.title, expr: target.expr })))

/** For each alert, series that make it fire (with the value its summary shows) and series that do not, sampled every minute. */
const CASES: Record<string, { series: string, firing: string, quiet: string, value?: string, at: string }> = {
  DimeNoLeaderPublishing: { series: 'dime_publisher_leader{pod="publisher-0"}', firing: '0x30', quiet: '1x30', at: '15m' },
  DimeEdgeStale: { series: 'dime_publisher_edges{state="stale"}', firing: '2x30', quiet: '0x30', value: '2', at: '15m' },
  DimeEdgesBehind: { series: 'dime_publisher_edges{state="behind"}', firing: '3x30', quiet: '0x30', value: '3', at: '15m' },
  DimeEdgeMissing: { series: 'dime_publisher_edges{state="missing"}', firing: '1x30', quiet: '0x30', value: '1', at: '15m' },
  DimeFragmentRejected: { series: 'dime_publisher_fragments{status="rejected"}', firing: '1x30', quiet: '0x30', value: '1', at: '15m' },
  DimeReconcileErrors: { series: 'dime_publisher_reconciles_total{outcome="error"}', firing: '0+1x30', quiet: '0x30', at: '25m' },
  DimeKubernetesApiFailing: { series: 'dime_publisher_kubernetes_failures_total{resource="configmaps"}', firing: '0+1x30', quiet: '0x30', at: '25m' },
  DimeRolloutRolledBack: { series: 'dime_rollouts_ended_total{outcome="rolled-back"}', firing: '0 0 0 1 1 1 1 1 1 1', quiet: '0x30', at: '5m' }
}

function missingTools (...commands: string[]): string | undefined {
  const missing = commands.filter(command => !commandExists(command))
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not installed (apt-get install prometheus; .ci/run does)`
}

const promtoolMissing = missingTools('promtool')
const promtoolTest = promtoolMissing === undefined ? test : test.skip
const skipped = (reason: string | undefined): string => reason === undefined ? '' : ` (skipped: ${reason})`

promtoolTest(`promtool checks the alerts and every dashboard expression, and its unit tests see each alert fire and stay quiet${skipped(promtoolMissing)}`, async t => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'rules.yaml'), stringify(rules))
  const checked = await run('promtool', ['check', 'rules', join(dir, 'rules.yaml')])
  t.regex(checked.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`))

  // Each dashboard expression as a recording rule, which promtool parses.
  const recorded = { groups: [{ name: 'dashboard', rules: dashboardExpressions.map((panel, i) => ({ record: `dashboard:expression_${i}`, expr: panel.expr })) }] }
  await writeFile(join(dir, 'dashboard.yaml'), stringify(recorded))
  t.regex((await run('promtool', ['check', 'rules', join(dir, 'dashboard.yaml')])).stdout, /SUCCESS/)

  t.deepEqual(Object.keys(CASES).sort(), alerts.map(alert => alert.alert).sort(), 'every alert has its cases')
  const expected = (alert: AlertRule, value: string | undefined): object => ({
    exp_labels: alert.labels,
    exp_annotations: Object.fromEntries(Object.entries(alert.annotations).map(([key, text]) => [key, text.replaceAll('{{ $value }}', value ?? '')]))
  })
  const tests = alerts.flatMap(alert => {
    const cases = CASES[alert.alert]
    if (cases === undefined) return []
    return [
      { interval: '1m', input_series: [{ series: cases.series, values: cases.firing }], alert_rule_test: [{ eval_time: cases.at, alertname: alert.alert, exp_alerts: [expected(alert, cases.value)] }] },
      { interval: '1m', input_series: [{ series: cases.series, values: cases.quiet }], alert_rule_test: [{ eval_time: cases.at, alertname: alert.alert, exp_alerts: [] }] }
    ]
  })
  await writeFile(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }))
  const unit = await run('promtool', ['test', 'rules', join(dir, 'tests.yaml')]).catch((err: { stdout?: string, stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}`, failed: true }))
  t.false('failed' in unit, unit.stdout)
  t.regex(unit.stdout, /SUCCESS/)
})

const prometheusMissing = missingTools('prometheus')
const prometheusTest = prometheusMissing === undefined ? test : test.skip

prometheusTest(`a real Prometheus scraping a real publisher and edges has data for every dashboard panel and every alert's expression${skipped(prometheusMissing)}`, async t => {
  const dir = await tempDir(t)
  const keys = join(dir, 'keys')
  await dime('keygen', '--out', keys)
  const api = await fakeKubeApi(t)
  api.apply('configmaps', fragmentConfigMap('whoami', { 'whoami.yaml': routeFragment('whoami', 'whoami.example.com') }))
  api.apply('gatewayclasses', { metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } })
  const publisher = await kubePublisherProcess(t, api, dir, keys, ['--admin', '127.0.0.1:0', '--token-file', join(keys, 'admin.token')])
  const admin = new URL(await logged(publisher, 'admin endpoint listening', 'url'))
  const bootstrap = await logged(publisher, 'mesh node listening', 'addresses')
  const edges = await Promise.all(['edge-1', 'edge-2'].map(async name => {
    const edge = spawnDime(t, ['edge', '--trust', join(keys, 'publisher.pub'), '--bootstrap', bootstrap, '--swarm-key', join(keys, 'swarm.key'),
      '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, name), '--serve', '127.0.0.1:0', '--public-address', `${name}.example.net`])
    return new URL(await logged(edge, 'serving Traefik config', 'url'))
  }))

  const port = await freePort()
  await writeFile(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: [
      { job_name: 'dime-publisher', authorization: { credentials_file: join(keys, 'admin.token') }, static_configs: [{ targets: [admin.host] }] },
      { job_name: 'dime-edge', static_configs: [{ targets: edges.map(edge => edge.host) }] }
    ]
  }))
  const prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
  t.teardown(async () => { await stopProcess(prometheus) })

  /** The values of an instant query's series (none while Prometheus is starting). */
  const query = async (expr: string): Promise<string[]> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined)
    const body = await response?.json().catch(() => undefined) as { data?: { result?: Array<{ value: [number, string] }> } } | undefined
    return (body?.data?.result ?? []).map(series => series.value[1])
  }
  // An alert's expression without its threshold: the series it watches, which exist while all is well.
  const watched = alerts.map(alert => ({ title: alert.alert, expr: alert.expr.replace(/\s*[<>]=?\s*[\d.]+$/, '') }))
  for (const { title, expr } of [...dashboardExpressions, ...watched]) {
    t.true(await waitFor(`data for "${title}": ${expr}`, async () => (await query(expr)).length > 0 ? true : undefined, 60_000, 250))
  }
  // What the publisher says of its edges, through Prometheus: both serve the newest version.
  await waitFor('both edges up to date', async () => (await query('sum(dime_publisher_edges{state="up-to-date"})'))[0] === '2' ? true : undefined, 60_000, 250)
  t.deepEqual(await query('sum(dime_publisher_edges{state=~"behind|stale|missing"})'), ['0'])
})
