import { createMemoryStore } from '@micboard/limiter-store';
import { testAdapter } from '@micboard/test-utils';
import { koaHarness } from './harness.js';

testAdapter(koaHarness, { name: 'memory', create: (clock) => createMemoryStore({ clock }) });
