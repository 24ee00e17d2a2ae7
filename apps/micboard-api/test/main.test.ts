import { describe, expect, it } from 'vitest';
import { testMain } from '@micboard/app-kit';

testMain({ describe, expect, it }, 'micboard-api', new URL('../src/main.ts', import.meta.url));
