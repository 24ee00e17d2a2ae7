import { createMemoryStore } from '@micboard/limiter-store';
import { testAdapter } from '@micboard/test-utils';
import { expressHarness } from './harness.js';

testAdapter(expressHarness, { name: 'memory', create: (clock) => createMemoryStore({ clock }) });
