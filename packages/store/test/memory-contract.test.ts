import { testStore } from '@micboard/test-utils';
import { createMemoryStore } from '@micboard/limiter-store';

testStore('memory', (clock) => {
  const store = createMemoryStore({ clock });
  return { store, clock };
});
