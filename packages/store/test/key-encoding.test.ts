import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeClientKey, encodeClientKey } from '../src/key-encoding.js';

it('client key encoding is reversible, injective and leaves no brace and no empty tag', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', '{', '}', '%', '7', 'B', 'D', '2', '5', ':', 'é') }), fc.string(), (a, b) => {
      for (const key of [a, b]) {
        const encoded = encodeClientKey(key);
        expect(encoded).not.toMatch(/[{}]/);
        expect(encoded.length).toBeGreaterThan(0);
        expect(decodeClientKey(encoded)).toBe(key);
      }
      if (a !== b) expect(encodeClientKey(a)).not.toBe(encodeClientKey(b));
    }),
    { numRuns: 1000 },
  );
});
