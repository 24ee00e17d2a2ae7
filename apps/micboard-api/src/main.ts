/* The runnable app: read the environment, start, stop cleanly on Ctrl-C. */
import { runApp } from '@micboard/app-kit';
import { start } from './app.js';
import { loadConfig } from './config.js';

await runApp({
  name: 'micboard-api',
  loadConfig,
  start,
  announce(api, config) {
    process.stdout.write(
      `micboard-api listening on ${api.url} (store: ${api.limiter.store.name}, Shure System API: ${config.shure.baseUrl})\n`,
    );
  },
});
