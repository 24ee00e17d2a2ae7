/* `pnpm demo`: start everything, print where it is, stop cleanly on Ctrl-C. */
import { ConfigError, loadDemoConfig } from './config.js';
import { banner, runDemo } from './demo.js';
import { PortInUseError } from './ports.js';

let config;
try {
  config = loadDemoConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`demo: ${error.message}\n`);
  process.exit(1);
}

let demo;
try {
  demo = await runDemo(config);
} catch (error) {
  const known = error instanceof PortInUseError || error instanceof ConfigError;
  process.stderr.write(`demo: could not start: ${known ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
  process.exit(1);
}
let stopping = false;
const stop = (): void => {
  if (stopping) {
    // A second Ctrl-C means "now".
    process.exit(130);
  }
  stopping = true;
  process.stdout.write('\nstopping...\n');
  demo.close().then(
    () => {
      process.stdout.write('stopped.\n');
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`demo: error while stopping: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Only now say where everything is: whoever reads it may press Ctrl-C at once.
process.stdout.write(banner(demo));
