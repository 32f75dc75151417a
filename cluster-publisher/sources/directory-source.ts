import { watch, type FSWatcher } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FRAGMENT_FILE_PATTERN } from '../constants.js'
import { compareNames, fragmentsFromFile, type Fragment, type FragmentFile } from '../fragment-files.js'
import { firstSecretReference } from '../secret-references.js'
import type { FragmentSource, SourceSnapshot } from './fragment-source.js'

export interface DirectorySourceInit {
  directory: string
}

/**
 * Every `*.yaml`, `*.yml` and `*.json` file directly in a directory. Watches
 * the directory (inotify on Linux) and reports "something changed"; which
 * files changed does not matter, since the caller re-reads them all.
 */
class DirectorySource implements FragmentSource {
  private watcher: FSWatcher | undefined
  private readonly listeners: Array<() => void> = []

  constructor (private readonly directory: string) {}

  async start (): Promise<void> {
    const info = await stat(this.directory).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`fragments directory ${this.directory} cannot be read: ${err.code ?? err.message}`)
    })
    if (!info.isDirectory()) throw new Error(`fragments directory ${this.directory} is not a directory`)
    this.watcher = watch(this.directory, { persistent: false }, () => { this.changed() })
    this.watcher.on('error', () => { this.changed() })
  }

  async stop (): Promise<void> {
    this.watcher?.close()
  }

  synced (): boolean {
    return this.watcher !== undefined
  }

  onChange (listener: () => void): void {
    this.listeners.push(listener)
  }

  async snapshot (): Promise<SourceSnapshot> {
    const names = (await readdir(this.directory)).filter(name => FRAGMENT_FILE_PATTERN.test(name)).sort(compareNames)
    const files = await Promise.all(names.map(async name => await this.readFragmentFile(name)))
    const read = files.filter((file): file is FragmentFile => file !== undefined).map(fragmentsFromFile)
    return { fragments: read.flatMap(file => file.fragments).map(withoutSecretReferences), skipped: read.flatMap(file => file.skipped), pending: [] }
  }

  private async readFragmentFile (name: string): Promise<FragmentFile | undefined> {
    try {
      return { name, text: await readFile(join(this.directory, name), 'utf8') }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // Removed between listing and reading, or a directory with a fragment's name.
      if (code === 'ENOENT' || code === 'EISDIR') return undefined
      // Still listed, so its last good content stays in the config.
      return { name, error: `cannot be read: ${code ?? (err as Error).message}` }
    }
  }

  private changed (): void {
    for (const listener of this.listeners) listener()
  }
}

export function directorySource (init: DirectorySourceInit): FragmentSource {
  return new DirectorySource(init.directory)
}

/** Files have no Secrets to resolve `secret:` references from: such a fragment is broken, not published with the reference in it. */
function withoutSecretReferences (fragment: Fragment): Fragment {
  const reference = 'content' in fragment ? firstSecretReference(fragment.content) : undefined
  if (reference === undefined) return fragment
  return { source: fragment.source, error: `${reference}: secret references are resolved only with --kubernetes; in a file, put the value sealed with "dime seal"` }
}
