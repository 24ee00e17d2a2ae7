import { ConfigError } from '@micboard/app-kit';
import { readMockEnv } from './env.js';
import { createMockServer } from './server.js';

let settings;
try {
  settings = readMockEnv(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`shure-mock: ${error.message}\n`);
  process.exit(1);
}
const { port, host, apiKey } = settings;

const mock = await createMockServer({ port, host, apiKey });
const stop = (): void => {
  void mock.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Only now say where we listen: whoever reads it may press Ctrl-C at once.
console.log(`Shure System API mock listening on ${mock.url} (x-api-key: ${apiKey === null ? 'not checked' : apiKey})`);
