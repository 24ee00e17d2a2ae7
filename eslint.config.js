// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/coverage/**', '**/node_modules/**', 'bench/out/**', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Libraries never write to the console: they log through an injected logger.
    files: ['packages/*/src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The core has no ambient I/O: no node:* imports, no Date.now, no timers, no process.env.
    // Time comes from an injected Clock; only clock.ts reads the real one.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/clock.ts', 'packages/core/src/client/sleep.ts', 'packages/core/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['fs', 'http', 'https', 'net', 'os', 'crypto', 'timers'], patterns: ['node:*'] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'process', property: 'env', message: 'Core takes options, not environment.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Core has no timers: take an injected sleep/clock.' },
        { name: 'setInterval', message: 'Core has no timers.' },
        { name: 'process', message: 'Core has no ambient I/O.' },
      ],
    },
  },
);
