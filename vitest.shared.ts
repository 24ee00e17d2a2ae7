// Tests run against source: every workspace package resolves to its src/ entry,
// so no build is needed before `pnpm test` or `pnpm typecheck`.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export const sourceAliases: Record<string, string> = {
  '@micboard/limiter-core/testing': `${root}packages/core/src/testing/index.ts`,
  '@micboard/limiter-core': `${root}packages/core/src/index.ts`,
  '@micboard/limiter-store/redis': `${root}packages/store/src/redis/index.ts`,
  '@micboard/limiter-store': `${root}packages/store/src/index.ts`,
  '@micboard/limiter-http': `${root}packages/http/src/index.ts`,
  '@micboard/limiter-express': `${root}packages/express/src/index.ts`,
  '@micboard/limiter-koa': `${root}packages/koa/src/index.ts`,
  '@micboard/shure-client': `${root}packages/shure-client/src/index.ts`,
  '@micboard/shure-mock': `${root}apps/shure-mock/src/index.ts`,
  '@micboard/test-utils': `${root}packages/test-utils/src/index.ts`,
  '@micboard/app-kit': `${root}apps/app-kit/src/index.ts`,
};
