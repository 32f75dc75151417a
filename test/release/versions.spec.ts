import test from 'ava'
import { execFile } from 'node:child_process'
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { dime } from '../fixtures/dime-process.js'
import { tempDir } from '../fixtures/temp-dir.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const IMAGE = 'ghcr.io/cdn-on-a-dime/dime'
/** The files that follow package.json's version, as scripts/set-version.mjs writes them. */
const FOLLOWERS = ['manifests/kustomization.yaml', 'ansible/roles/dime_edge/defaults/main.yml', 'CHANGELOG.md']

interface Versions { packageJson: string, kustomization: string | undefined, ansible: string | undefined, changelog: boolean }

async function versionsIn (root: string): Promise<Versions> {
  const read = async (file: string): Promise<string> => await readFile(join(root, file), 'utf8')
  const { version } = JSON.parse(await read('package.json')) as { version: string }
  const kustomization = parse(await read(FOLLOWERS[0] as string)) as { images?: Array<{ name: string, newTag?: string }> }
  const ansible = parse(await read(FOLLOWERS[1] as string)) as { dime_image?: string }
  return {
    packageJson: version,
    kustomization: kustomization.images?.find(image => image.name === IMAGE)?.newTag,
    ansible: ansible.dime_image?.startsWith(`${IMAGE}:`) === true ? ansible.dime_image.slice(IMAGE.length + 1) : undefined,
    changelog: (await read(FOLLOWERS[2] as string)).includes(`## [${version}]`)
  }
}

async function setVersion (cwd: string): Promise<{ code: number, output: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [join(ROOT, 'scripts/set-version.mjs')], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
    })
  })
}

/** A copy of package.json and the files that follow it, at `version`. */
async function copyAt (root: string, version: string): Promise<void> {
  for (const file of FOLLOWERS) {
    await mkdir(join(root, file, '..'), { recursive: true })
    await cp(join(ROOT, file), join(root, file))
  }
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(root, 'package.json'), JSON.stringify({ ...manifest, version }))
}

test('one version: the manifests\' image tag, the Ansible role\'s default image, dime --version and the changelog all say package.json\'s', async t => {
  const versions = await versionsIn(ROOT)
  t.deepEqual(versions, { packageJson: versions.packageJson, kustomization: versions.packageJson, ansible: versions.packageJson, changelog: true },
    'run npm version (or node scripts/set-version.mjs) after changing package.json\'s version')
  const { stdout } = await dime('--version')
  t.true(stdout.startsWith(`dime ${versions.packageJson}, mesh protocol `), stdout)
})

test('npm version\'s script moves the image tag and the Ansible default to the new version, and makes the changelog\'s Unreleased entry the release\'s', async t => {
  const root = await tempDir(t)
  await copyAt(root, '9.8.7')
  const result = await setVersion(root)
  t.is(result.code, 0, result.output)
  t.deepEqual(await versionsIn(root), { packageJson: '9.8.7', kustomization: '9.8.7', ansible: '9.8.7', changelog: true })
  const changelog = await readFile(join(root, 'CHANGELOG.md'), 'utf8')
  t.regex(changelog, /## \[Unreleased\]\n\n## \[9\.8\.7\] - \d{4}-\d{2}-\d{2}\n/)
  t.is((await setVersion(root)).code, 0, 'run again, it changes nothing')
  t.is(await readFile(join(root, 'CHANGELOG.md'), 'utf8'), changelog)
})

test('npm version\'s script refuses, naming the file, when a follower no longer names the image, and writes nothing', async t => {
  const root = await tempDir(t)
  await copyAt(root, '9.8.7')
  const defaults = join(root, 'ansible/roles/dime_edge/defaults/main.yml')
  await writeFile(defaults, 'dime_image: "registry.example.com/somebody/dime:1.0.0"\n')
  const kustomizationBefore = await readFile(join(root, 'manifests/kustomization.yaml'), 'utf8')
  const result = await setVersion(root)
  t.is(result.code, 1)
  t.regex(result.output, /ansible\/roles\/dime_edge\/defaults\/main\.yml: no image ghcr\.io\/cdn-on-a-dime\/dime to set to 9\.8\.7/)
  t.is(await readFile(join(root, 'manifests/kustomization.yaml'), 'utf8'), kustomizationBefore)
})
