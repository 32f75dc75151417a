import { Option, type Command } from 'commander'
import { DEFAULT_MESH } from '../../node/constants.js'
import { openEnvelope, peekHead, trustPolicy } from '../../node/envelope.js'
import { collect, listOf, readFlagBytes, readTrustedKeys } from '../inputs.js'
import { UsageError } from '../usage-error.js'

export function inspectCommand (program: Command): void {
  program.command('inspect')
    .description('Show a stored envelope (an edge\'s DATA-DIR/envelope.bin) and, given --trust, verify it')
    .argument('<file>', 'envelope file')
    .addOption(new Option('--trust <file>', 'public key to verify against, repeatable').argParser(collect))
    .option('--mesh <name>', 'mesh name to verify against', DEFAULT_MESH)
    .option('--body', 'print the config body instead of the head', false)
    .action((file: string, flags: { trust?: string[], mesh: string, body: boolean }) => {
      const bytes = new Uint8Array(readFlagBytes(file, 'envelope'))
      const trustFiles = listOf(flags.trust)
      let verdict = 'not verified (no --trust given)'
      if (trustFiles.length > 0) {
        try {
          openEnvelope(bytes, trustPolicy(flags.mesh, readTrustedKeys(trustFiles, { required: true })))
          verdict = 'valid'
        } catch (err) {
          if (err instanceof UsageError) throw err
          throw new UsageError(`${file}: ${(err as Error).name}: ${(err as Error).message}`)
        }
      }
      let head
      try {
        head = peekHead(bytes)
      } catch (err) {
        throw new UsageError(`${file}: ${(err as Error).message}`)
      }
      if (flags.body) {
        process.stdout.write(`${Buffer.from(bytes.subarray(bytes.byteLength - head.bodySize)).toString('utf8')}\n`)
      } else {
        process.stdout.write(`${JSON.stringify({ ...head, signature: verdict }, null, 2)}\n`)
      }
    })
}
