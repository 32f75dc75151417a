// What a bundle in ESM gives the CommonJS packages inside it: `require`,
// `__filename` and `__dirname` of its own file (write-file-atomic names its
// temporary files after __filename). Shared by npm run build and the
// benchmarks' bundled helper processes.
export const ESM_BANNER = [
  "import { createRequire as __createRequire } from 'node:module'",
  "import { fileURLToPath as __fileURLToPath } from 'node:url'",
  'const require = __createRequire(import.meta.url)',
  'const __filename = __fileURLToPath(import.meta.url)',
  "const __dirname = __fileURLToPath(new URL('.', import.meta.url))"
].join('\n')
