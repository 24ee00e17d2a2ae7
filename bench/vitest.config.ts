import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../vitest.shared.js';

// Tests of the harness's own pieces (never timings: the bench reports figures, it asserts none).
export default defineConfig({
  resolve: { alias: sourceAliases },
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
