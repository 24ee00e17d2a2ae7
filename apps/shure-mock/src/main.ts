import { createMockServer } from './server.js';

const port = Number(process.env['PORT'] ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be an integer 0-65535; got ${JSON.stringify(process.env['PORT'])}`);
  process.exit(1);
}
const host = process.env['HOST'] ?? '127.0.0.1';
// An empty SHURE_API_KEY turns the key check off; unset keeps the documented default.
const envKey = process.env['SHURE_API_KEY'];
const apiKey = envKey === undefined ? 'mock-api-key' : envKey === '' ? null : envKey;

const mock = await createMockServer({ port, host, apiKey });
console.log(`Shure System API mock listening on ${mock.url} (x-api-key: ${apiKey === null ? 'not checked' : apiKey})`);

const stop = (): void => {
  void mock.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
