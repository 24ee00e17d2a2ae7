/** Worker: where each of our packages resolves under the chosen target (proves src vs dist). */
import { fileURLToPath } from 'node:url';
import { workerMain } from '../lib/worker.js';

const SPECIFIERS = [
  '@micboard/limiter-core',
  '@micboard/limiter-store',
  '@micboard/limiter-store/redis',
  '@micboard/limiter-express',
  '@micboard/limiter-koa',
];

workerMain<Record<string, never>, Record<string, string>>(async () => {
  const resolved: Record<string, string> = {};
  for (const specifier of SPECIFIERS) {
    try {
      // Importing (not just resolving) goes through the same loader hooks as the measurements.
      const url = import.meta.resolve(specifier);
      await import(specifier);
      resolved[specifier] = fileURLToPath(url).replace(/^.*\/packages\//, 'packages/');
    } catch (error) {
      resolved[specifier] = `unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
  }
  return resolved;
});
