import { describe, expect, it } from 'vitest';
import { bearerToken, createAuth } from '../src/auth.js';

describe('createAuth', () => {
  it('registers once, logs in with the right password only, and verifies its tokens', async () => {
    let now = 1_700_000_000_000;
    const auth = createAuth({ secret: 's'.repeat(32), tokenTtlSeconds: 60, now: () => now });
    expect(await auth.register('ada', 'correct horse')).toBe('created');
    expect(await auth.register('ada', 'another one')).toBe('taken');
    expect(await auth.login('ada', 'wrong password')).toBeUndefined();
    expect(await auth.login('nobody', 'correct horse')).toBeUndefined();
    const token = await auth.login('ada', 'correct horse');
    expect(auth.verify(token)).toBe('ada');
    now += 61_000;
    expect(auth.verify(token)).toBeUndefined();
  });

  it('accepts a token from another instance with the same secret, and nothing forged', async () => {
    const a = createAuth({ secret: 'shared-secret-of-at-least-32-chars!' });
    const b = createAuth({ secret: 'shared-secret-of-at-least-32-chars!' });
    const c = createAuth();
    await a.register('ada', 'correct horse');
    const token = (await a.login('ada', 'correct horse')) as string;
    expect(b.verify(token)).toBe('ada');
    expect(c.verify(token)).toBeUndefined();
    const [payload] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', exp: 9e9 })).toString('base64url');
    expect(b.verify(`${forged}.${token.split('.')[1]}`)).toBeUndefined();
    expect(b.verify(`${payload}.`)).toBeUndefined();
    expect(b.verify(`${token}.x`)).toBeUndefined();
    expect(b.verify(undefined)).toBeUndefined();
  });

  it('caps the number of users, and says the table is full rather than the name taken', async () => {
    const auth = createAuth({ maxUsers: 2 });
    expect(await auth.register('u1', 'password1')).toBe('created');
    expect(await auth.register('u2', 'password2')).toBe('created');
    expect(await auth.register('u3', 'password3')).toBe('full');
    expect(await auth.register('u1', 'password1')).toBe('taken');
  });

  it('counts registrations still hashing against the cap', async () => {
    const auth = createAuth({ maxUsers: 2 });
    const results = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((name) => auth.register(name, 'password1')));
    expect(results).toEqual(['created', 'created', 'full', 'full']);
    // The same name twice at once: one wins, the other is told it is taken.
    const twice = createAuth();
    expect(await Promise.all([twice.register('ada', 'password1'), twice.register('ada', 'password2')])).toEqual(['created', 'taken']);
    expect(await twice.login('ada', 'password1')).toEqual(expect.any(String));
  });
});

describe('bearerToken', () => {
  it('reads Bearer tokens only', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer  abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
