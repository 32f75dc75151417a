// npm version X.Y.Z runs this (package.json's "version" script) once it has
// written X.Y.Z into package.json, the one place the version is kept: the
// image the manifests and the Ansible role use follows it, and the
// changelog's Unreleased entry becomes the release's. npm then commits and
// tags what this script added (test/release/versions.spec.ts checks they agree).
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

const IMAGE = 'ghcr.io/cdn-on-a-dime/dime'
const KUSTOMIZATION = 'manifests/kustomization.yaml'
const ANSIBLE_DEFAULTS = 'ansible/roles/dime_edge/defaults/main.yml'
const CHANGELOG = 'CHANGELOG.md'

const escaped = IMAGE.replace(/[.]/g, '\\.')

/** Each file's text with the image at `version`, or an error naming what it could not find. */
function withVersion (file, text, version) {
  const [pattern, replacement] = file === KUSTOMIZATION
    ? [new RegExp(`(- name: ${escaped}\\n\\s+newTag: )"?[^"\\n]*"?`), `$1"${version}"`]
    : [new RegExp(`^(dime_image: )"${escaped}:[^"]*"`, 'm'), `$1"${IMAGE}:${version}"`]
  if (!pattern.test(text)) throw new Error(`${file}: no image ${IMAGE} to set to ${version}`)
  return text.replace(pattern, replacement)
}

/** The changelog with its Unreleased entry made the release's, and a new empty Unreleased above it. */
function changelogWithRelease (text, version, date) {
  if (text.includes(`## [${version}]`)) return text
  if (!text.includes('## [Unreleased]')) throw new Error(`${CHANGELOG}: no "## [Unreleased]" entry to release as ${version}`)
  return text.replace('## [Unreleased]', `## [Unreleased]\n\n## [${version}] - ${date}`)
}

const { version } = JSON.parse(readFileSync('package.json', 'utf8'))
try {
  const texts = [KUSTOMIZATION, ANSIBLE_DEFAULTS].map(file => [file, withVersion(file, readFileSync(file, 'utf8'), version)])
  texts.push([CHANGELOG, changelogWithRelease(readFileSync(CHANGELOG, 'utf8'), version, new Date().toISOString().slice(0, 10))])
  for (const [file, text] of texts) writeFileSync(file, text)
} catch (err) {
  process.stderr.write(`set-version: ${err.message}\n`)
  process.exit(1)
}
if (process.env.npm_lifecycle_event === 'version') execFileSync('git', ['add', KUSTOMIZATION, ANSIBLE_DEFAULTS, CHANGELOG])
process.stdout.write(`${IMAGE}:${version} in ${KUSTOMIZATION} and ${ANSIBLE_DEFAULTS}; ${CHANGELOG} has [${version}]\n`)
