/* The runnable app: read the environment, start, stop cleanly on Ctrl-C. */
import { runApp } from '@micboard/app-kit';
import { start } from './app.js';
import { loadConfig } from './config.js';

await runApp({
  name: 'adaptive-api',
  loadConfig,
  start,
  announce(api, config, logger) {
    if (config.authSecret === undefined) logger.info({}, 'AUTH_SECRET is not set: login tokens are valid only until this process stops');
    process.stdout.write(`adaptive-api listening on ${api.url} (store: ${api.limiter.store.name}, admin API: ${config.adminToken ? 'on' : 'off, set ADMIN_TOKEN'})\n`);
  },
});
