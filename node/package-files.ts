import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The path of a file of this package (its package.json, reference/, bin/…),
 * whether this module runs from the TypeScript sources or from the compiled
 * build in dist/, which sit at different depths.
 */
export function packageFile (relative: string): string {
  let directory = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory)
    if (parent === directory) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    directory = parent
  }
  return join(directory, relative)
}
