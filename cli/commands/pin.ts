import type { Command } from 'commander'
import { describePin, UNPINNED, type Pin } from '../../cluster-publisher/publisher-state.js'
import { adminOptions, postAdminJson, type AdminFlags } from '../admin-client.js'
import { UsageError } from '../usage-error.js'

export function pinCommand (program: Command): void {
  adminOptions(program.command('pin')
    .description('In an incident: hold the mesh at an earlier version (dime history lists them); the publisher signs its config anew as the newest version and keeps it, whatever the fragments do, until dime unpin')
    .argument('<version>', 'a version the publisher published and still holds'))
    .action(async (version: string, flags: AdminFlags) => {
      if (!/^[1-9]\d*$/.test(version)) throw new UsageError(`<version> "${version}" is not a version number (dime history lists them)`)
      const { pinned } = await postAdminJson(flags, '/pin', { version: Number(version) }) as { pinned: Pin }
      process.stdout.write(`${describePin(pinned)}\n`)
    })
}

export function unpinCommand (program: Command): void {
  adminOptions(program.command('unpin')
    .description('Lift the pin: the publisher builds the config from the fragments again'))
    .action(async (flags: AdminFlags) => {
      const { unpinned } = await postAdminJson(flags, '/unpin') as { unpinned: boolean }
      process.stdout.write(`${unpinned ? UNPINNED : 'not pinned'}\n`)
    })
}
