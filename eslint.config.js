// Type-aware lint, as js-libp2p's tooling runs it: promises awaited or handled,
// switches exhaustive. Import cycles, type-only ones included, are dpdm's
// (npm run lint): eslint-plugin-import-x's no-cycle skips type imports.
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'eslint.config.js', 'scripts/', 'bin/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Async without await is how an implementation of a Promise-returning
      // interface says so, and turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // A variable a closure reads before its one assignment (a peer id known only once the node exists).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }]
    }
  }
)
