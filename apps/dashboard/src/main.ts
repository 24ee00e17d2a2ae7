/* The runnable dashboard: read the environment, start, stop cleanly on Ctrl-C. */
import { runApp } from '@micboard/app-kit';
import { loadConfig } from './config.js';
import { startDashboard } from './server.js';

await runApp({
  name: 'dashboard',
  loadConfig,
  start: startDashboard,
  announce(dashboard, config) {
    // The link carries this run's token: whoever opens it can change limits, so it goes only to whoever started us.
    process.stdout.write(`dashboard on ${dashboard.pageUrl} (watching ${config.adaptiveApiUrls.join(', ')})\n`);
    if (config.adminToken === undefined) process.stdout.write('dashboard: ADMIN_TOKEN is not set, so it can only run traffic\n');
  },
});
