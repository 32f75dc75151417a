// The release workflow's first step: the tag it runs for must name package.json's version,
// or nothing is built or pushed. Usage: node scripts/check-release-tag.mjs v1.2.3
import { readFileSync } from 'node:fs'

const tag = process.argv[2] ?? ''
const { version } = JSON.parse(readFileSync('package.json', 'utf8'))
if (tag !== `v${version}`) {
  process.stderr.write(`release tag "${tag}" does not name package.json's version ${version} (expected v${version}): ` +
    `run npm version ${tag.replace(/^v/, '') || 'X.Y.Z'}, push that commit and tag it\n`)
  process.exit(1)
}
process.stdout.write(`release ${version}\n`)
