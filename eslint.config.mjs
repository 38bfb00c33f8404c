// Habits the tools enforce: promises are awaited (or voided on purpose), workflow code stays deterministic, and
// dependencies run one way (README "Layout"). Formatting is Prettier's (.prettierrc.json).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'crypto',
  'child_process',
  'net',
  'tls',
  'http',
  'https',
  'dns',
  'dgram',
  'util',
  'stream',
  'timers',
  'timers/*',
  'worker_threads',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  {
    // Workflows replay: no I/O, no clock, no other layer's code (types are fine: they are erased).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: 'workflow code is replayed: no Node built-ins (do it in an activity)' },
            {
              group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'],
              message: 'workflows use only @temporalio/workflow and @temporalio/common',
            },
            {
              group: ['../plugins/*', '../activities/*', '../client/*', '../worker/*', '../x509/*', '../inspect/*', '../catalog/*', '../catalog'],
              allowTypeImports: true,
              message: 'workflows import only pure modules; this layer does I/O',
            },
          ],
        },
      ],
    },
  },
  {
    // Plugins describe themselves in the blueprint layer's catalog interface and never see Temporal or the catalog.
    files: ['src/plugins/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'plugins never import Temporal: use ctx.activity()' },
            {
              group: ['**/blueprint/*', '!**/blueprint/catalog', '!**/blueprint/types', '!**/blueprint/credentials', '!**/blueprint/errors'],
              message: 'plugins import of src/blueprint only its declared interface (catalog, types, credentials, errors)',
            },
            { group: ['**/catalog', '**/catalog/*', '!**/blueprint/catalog'], message: 'plugins are listed by the catalog, never the reverse' },
            {
              group: ['**/inspect/*', '**/activities/*', '**/workflows/*', '**/worker/*', '**/client/*'],
              allowTypeImports: true,
              message: 'plugins sit below inspection, activities, workflows, worker and CLI',
            },
          ],
        },
      ],
    },
  },
  {
    // The lowest layer: it declares the catalog interface and imports no plugin or higher layer.
    files: ['src/blueprint/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../plugins',
                '../plugins/*',
                '../catalog',
                '../catalog/*',
                '../activities/*',
                '../client/*',
                '../worker/*',
                '../workflows/*',
                '../inspect/*',
              ],
              message: 'src/blueprint is the lowest layer: it receives the plugin catalog through src/blueprint/catalog.ts',
            },
          ],
        },
      ],
    },
  },
);
