import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import type { PolicyDocument, RolloutPolicySource } from '../rollout-policy.js'

/** How often the file is looked at: polling sees an editor's rename-over and a ConfigMap volume's symlink swap alike. */
const POLL_INTERVAL_MS = 1000

/** The rollout policy in a file (`--rollout FILE`), read again whenever it changes. */
export function rolloutPolicyFile (path: string): RolloutPolicySource {
  const listeners: Array<() => void> = []
  const changed = (): void => { for (const listener of listeners) listener() }
  return {
    read (): PolicyDocument {
      try {
        return { where: path, text: readFileSync(path, 'utf8') }
      } catch (err) {
        return { where: path, unreadable: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }
      }
    },
    onChange (listener) {
      listeners.push(listener)
    },
    start () {
      watchFile(path, { interval: POLL_INTERVAL_MS, persistent: false }, changed)
    },
    stop () {
      unwatchFile(path, changed)
    }
  }
}
