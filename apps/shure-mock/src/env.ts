import { readHost, readPort, type Env } from '@micboard/app-kit';

/** How the mock runs from its `main.ts`. */
export interface MockEnv {
  /** `PORT`. @default 8080, as seed 1's SHURE_API_BASE_URL */
  readonly port: number;
  /** `HOST`. @default '127.0.0.1': the control endpoints take no key, so never every interface by accident */
  readonly host: string;
  /** `SHURE_API_KEY`; null (set but empty) turns the check off. @default 'mock-api-key' */
  readonly apiKey: string | null;
}

/**
 * What `pnpm start` reads from the environment, with app-kit's readers as the other apps do: an
 * empty value counts as unset (shells often export `HOST=`), a refused one names the variable.
 *
 * @throws ConfigError (app-kit) naming the variable when a value is set but unusable.
 * @example
 * const { port, host, apiKey } = readMockEnv(process.env);
 */
export function readMockEnv(env: Env): MockEnv {
  const port = readPort(env, 'PORT', 8080);
  const host = readHost(env, 'HOST', '127.0.0.1');
  // An empty SHURE_API_KEY turns the key check off (documented); unset keeps the documented default.
  const envKey = env['SHURE_API_KEY'];
  const apiKey = envKey === undefined ? 'mock-api-key' : envKey === '' ? null : envKey;
  return { port, host, apiKey };
}
