import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * The example's authentication: users in memory, passwords hashed with scrypt, and stateless
 * signed tokens, so a token issued by one instance is accepted by every instance with the same secret.
 * It exists to give the limiter an authenticated user id; a real app brings its own.
 */
/**
 * What a registration did: `created`; `taken` (the name is someone's, or being registered right
 * now); `full` (the table holds `maxUsers`, counting registrations still hashing).
 */
export type RegisterResult = 'created' | 'taken' | 'full';

export interface Auth {
  /** Creates a user, unless the name is taken or the user table is full. */
  register(username: string, password: string): Promise<RegisterResult>;
  /** A token for valid credentials, or undefined. Takes as long for an unknown user as for a wrong password. */
  login(username: string, password: string): Promise<string | undefined>;
  /** The user a bearer token belongs to, or undefined when it is missing, forged or expired. */
  verify(token: string | undefined): string | undefined;
  /** Token lifetime, in seconds. */
  readonly tokenTtlSeconds: number;
}

export interface AuthOptions {
  /** HMAC key for tokens. @default 32 random bytes */
  readonly secret?: string | undefined;
  /** Token lifetime, in seconds. @default 3600 */
  readonly tokenTtlSeconds?: number;
  /** Most users kept; registration is refused beyond it, so a spammer cannot exhaust memory. @default 10_000 */
  readonly maxUsers?: number;
  /** ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

const KEY_LENGTH = 32;
// Cheap enough for a demo on a shared machine, still a real KDF.
const SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, SCRYPT, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * @example
 * const auth = createAuth({ secret: process.env.AUTH_SECRET });
 * await auth.register('ada', 'correct horse');
 * const token = await auth.login('ada', 'correct horse');
 */
export function createAuth(options: AuthOptions = {}): Auth {
  const secret = options.secret ?? randomBytes(32).toString('base64url');
  const ttl = options.tokenTtlSeconds ?? 3600;
  const maxUsers = options.maxUsers ?? 10_000;
  const now = options.now ?? (() => Date.now());
  const users = new Map<string, { salt: Buffer; hash: Buffer }>();
  /** Names being registered now (hashing their password). */
  const pending = new Set<string>();
  const decoySalt = randomBytes(16);

  const sign = (payload: string): string => createHmac('sha256', secret).update(payload).digest('base64url');

  return {
    tokenTtlSeconds: ttl,
    async register(username, password) {
      if (users.has(username) || pending.has(username)) return 'taken';
      // A registration holds its place while it hashes: checked against users alone, every request
      // arriving during one hash saw room, and together they went past the cap.
      if (users.size + pending.size >= maxUsers) return 'full';
      pending.add(username);
      try {
        const salt = randomBytes(16);
        const hash = await derive(password, salt);
        users.set(username, { salt, hash });
        return 'created';
      } finally {
        pending.delete(username);
      }
    },
    async login(username, password) {
      const user = users.get(username);
      const hash = await derive(password, user?.salt ?? decoySalt);
      if (!user || !timingSafeEqual(hash, user.hash)) return undefined;
      const payload = Buffer.from(JSON.stringify({ sub: username, exp: Math.floor(now() / 1000) + ttl })).toString('base64url');
      return `${payload}.${sign(payload)}`;
    },
    verify(token) {
      if (token === undefined || token.length > 1024) return undefined;
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return undefined;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
        if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
        return claims.exp * 1000 > now() ? claims.sub : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}
