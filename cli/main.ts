import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { packageFile } from '../node/package-files.js'
import { MESH_PROTOCOL_VERSION, OLDEST_MESH_PROTOCOL } from '../node/constants.js'
import { demoCommand } from './commands/demo.js'
import { edgeCommand } from './commands/edge.js'
import { diffCommand, historyCommand } from './commands/history.js'
import { pinCommand, unpinCommand } from './commands/pin.js'
import { rolloutCommand } from './commands/rollout.js'
import { inspectCommand } from './commands/inspect.js'
import { keygenCommand } from './commands/keygen.js'
import { publisherCommand } from './commands/publisher.js'
import { sealCommand } from './commands/seal.js'
import { statusCommand } from './commands/status.js'
import { UsageError } from './usage-error.js'

const { version } = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }

/** Exit status for a mistake in the command line or its files. */
export const USAGE_EXIT_CODE = 2

const program = new Command('dime')
  .description('cdn-on-a-dime mesh: a signed Traefik config, gossiped from a Kubernetes cluster to edge proxies')
  .version(`dime ${version}, mesh protocol ${MESH_PROTOCOL_VERSION} (shares a mesh with protocol ${OLDEST_MESH_PROTOCOL} and later)`)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

for (const register of [publisherCommand, edgeCommand, keygenCommand, sealCommand, demoCommand, statusCommand, historyCommand, diffCommand, pinCommand, unpinCommand, rolloutCommand, inspectCommand]) {
  register(program)
}
for (const command of program.commands) {
  command.showHelpAfterError(`(run "dime ${command.name()} --help" for usage)`).exitOverride()
}

try {
  await program.parseAsync()
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT_CODE)
  }
  process.stderr.write(`dime: error: ${(err as Error).message}\n`)
  process.exit(err instanceof UsageError ? USAGE_EXIT_CODE : 1)
}
