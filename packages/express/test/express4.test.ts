// The peer range includes express 4: the same conformance suite, on express 4.21 (installed as `express4`).
import { createRequire } from 'node:module';
import type express from 'express';
import { createMemoryStore } from '@micboard/limiter-store';
import { testAdapter } from '@micboard/test-utils';
import { createExpressHarness } from './harness.js';

// express 4 ships no types of its own; its app has the surface the adapter uses (req.ip, req.path, req.route, app.get).
const express4 = createRequire(import.meta.url)('express4') as typeof express;

testAdapter(createExpressHarness('express 4', () => express4()), { name: 'memory', create: (clock) => createMemoryStore({ clock }) });
