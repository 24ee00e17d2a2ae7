import { checkClock, systemClock, type Clock } from '../clock.js';
import { invalidOption, LimiterError } from '../errors.js';
import { checkLogger, silentLogger, type Logger } from '../logger.js';
import { createThrottledLog } from '../log-throttle.js';
import { tokenBucket } from '../algorithms/index.js';
import {
  adaptiveConfig,
  createClassifier,
  createEndpointCosts,
  DEFAULT_PROFILES,
  ipKey,
  outcomeOf,
  validateProfile,
  type ClassifierOptions,
  type ClassifyInput,
  type EndpointCostRule,
  type EndpointCosts,
  type Profile,
  type UserType,
} from '../policy/index.js';
import type { AdaptiveConfig, MaybePromise, Store, StoreDecision, TokenBucketSpec } from '../types.js';
import { chain, isThenable } from './maybe-promise.js';

const USER_TYPES: readonly UserType[] = ['anonymous', 'authenticated', 'testing', 'development'];
/** How many times a shared-config change is made again on a newer version before giving up. */
const SHARED_WRITE_ATTEMPTS = 8;

/** What the limiter needs to know of a request. Adapters build it; nothing here is trusted blindly. */
export interface LimiterRequest {
  /** HTTP method, e.g. `'GET'`. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The client address as the framework resolved it under its trusted-proxy setting. */
  readonly ip: string | undefined;
  /** Request headers (lower-case names), as the framework gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The application's own authentication result: the user id, or undefined when anonymous. @default undefined */
  readonly userId?: string | undefined;
}

/** Who the client is, as far as limits go. */
export interface Identity {
  /** The store key: `user:<id>`, `apikey:<id>` or `ip:<address or IPv6 subnet>`. */
  readonly key: string;
  readonly userType: UserType;
  /** The API-key plan, when an API key identified the client. */
  readonly plan: string | undefined;
  readonly profile: Profile;
}

/** The outcome of {@link Limiter.check}. */
export interface LimitResult extends Identity {
  readonly decision: StoreDecision;
  /** The cost charged (or refused), from the endpoint costs. */
  readonly cost: number;
}

/** API keys: a key identifies the client and selects its plan. An unknown key is not a free pass. */
export interface ApiKeyOptions {
  /** Header carrying the key (case-insensitive). @default 'x-api-key' */
  readonly header?: string;
  /**
   * Looks a key up: its client id and plan name, or undefined when the key is unknown. A throw or
   * rejection (a malformed key, a failed lookup) counts as an unknown key, and is logged as a warning
   * (at most once per 10 s, with a count of those held back).
   */
  readonly resolve: (apiKey: string) => MaybePromise<{ id: string; plan: string } | undefined>;
  /** Limits per plan name, e.g. `{ partner: { capacity: 2000, refillPerSecond: 200, burst: 500 } }`. */
  readonly plans: Readonly<Record<string, Profile>>;
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  /** Where state lives: `createMemoryStore()` or `createRedisStore()` from `@micboard/limiter-store`. */
  readonly store: Store;
  /** Token-bucket profile per user type, merged over seed 2's table. @default DEFAULT_PROFILES */
  readonly profiles?: Partial<Record<UserType, Profile>>;
  /** Who may be classified as testing or development. @default production: nobody */
  readonly classifier?: ClassifierOptions;
  /** Endpoint cost rules. @default seed 2's costs (login 5, register 10, store-import 3, others 1) */
  readonly endpointCosts?: { readonly rules?: readonly EndpointCostRule[]; readonly defaultCost?: number };
  /** Adaptive scoring settings, or `false` to turn it off. @default DEFAULT_ADAPTIVE */
  readonly adaptive?: Partial<AdaptiveConfig> | false;
  /** API-key clients and their plans. @default none */
  readonly apiKeys?: ApiKeyOptions;
  /** Group IPv6 clients by this prefix length, in bits. @default 56 */
  readonly ipv6Subnet?: number;
  /** How often shared runtime config is re-read from the store, in ms (at most 1000). @default 500 */
  readonly configRefreshMs?: number;
  /** Time source for config refresh and log throttling. @default systemClock */
  readonly clock?: Clock;
  /** Where warnings go. @default silentLogger */
  readonly logger?: Logger;
}

/** The shape of the runtime config the limiter keeps in the store, shared by every instance. */
export interface LimiterSharedConfig {
  /** Profile overrides per user type, over the `profiles` option. @default none (the option's profiles) */
  readonly profiles?: Partial<Record<UserType, Profile>>;
  /** Endpoint cost rules added to (or replacing) the option's rules. @default none */
  readonly endpointCosts?: readonly EndpointCostRule[];
}

/** The limiter engine: classify, key, cost, adaptive multiplier, store. */
export interface Limiter {
  readonly store: Store;
  /** The adaptive config in force, or undefined when adaptive scoring is off. */
  readonly adaptive: AdaptiveConfig | undefined;
  readonly endpointCosts: EndpointCosts;
  /** Classifies the request and chooses its key and profile. */
  identify(request: LimiterRequest): MaybePromise<Identity>;
  /** Decides one request against its client's bucket. */
  check(request: LimiterRequest): MaybePromise<LimitResult>;
  /** Feeds a finished response's status into the client's adaptive score. */
  record(key: string, status: number): MaybePromise<void>;
  /** The profiles in force (shared overrides included). */
  profiles(): Readonly<Record<UserType, Profile>>;
  /** The token-bucket spec of a user type or API plan. */
  specFor(identity: Pick<Identity, 'profile'>): TokenBucketSpec;
  /** Changes a user type's profile on every instance sharing the store. */
  setProfile(userType: UserType, profile: Partial<Profile>): MaybePromise<void>;
  /** Changes an endpoint's cost on every instance sharing the store. */
  setEndpointCost(path: string, cost: number, method?: string): MaybePromise<void>;
  /** Re-reads the shared runtime config now. */
  refreshConfig(): MaybePromise<void>;
}

/**
 * Creates the limiter engine over a store.
 *
 * @example
 * const limiter = createLimiter({ store: createMemoryStore() });
 * const result = limiter.check({ method: 'GET', path: '/api/data', ip: '203.0.113.9', headers: {} });
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const store = options.store;
  if (!store || typeof store.consume !== 'function') throw invalidOption('store', store, 'a Store');
  // Checked here: a logger without warn would throw at a client's first denial, which the HTTP
  // layer would take for a store failure and, failing open, let the request through.
  const logger = checkLogger(options.logger ?? silentLogger);
  const clock = checkClock(options.clock ?? systemClock);
  const classifier = createClassifier(options.classifier);
  const adaptive = options.adaptive === false ? undefined : adaptiveConfig(options.adaptive ?? {});
  const ipv6Subnet = options.ipv6Subnet ?? 56;
  if (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128) {
    throw invalidOption('ipv6Subnet', ipv6Subnet, 'an integer prefix length from 1 to 128');
  }
  const refreshMs = options.configRefreshMs ?? 500;
  if (!Number.isFinite(refreshMs) || refreshMs < 0 || refreshMs > 1000) {
    throw invalidOption('configRefreshMs', refreshMs, 'a number of ms from 0 to 1000');
  }

  // Adaptive scaling multiplies a profile's rate by up to adaptive.max: the scaled rate is the one
  // that must stay within MAX_REFILL_PER_SECOND, so every profile is checked against it.
  const maxMultiplier = adaptive?.max ?? 1;
  const baseProfiles = mergeProfiles(DEFAULT_PROFILES, options.profiles, 'profiles', maxMultiplier);
  let profiles = baseProfiles;
  const costOptions = options.endpointCosts ?? {};
  const costTable = createEndpointCosts(costOptions);
  const baseCostRules = costTable.list();

  // The cost of the endpoint asked last: costOf upper-cases the method, normalises the path and
  // looks it up, and consecutive requests often hit one endpoint. A cost depends only on the method,
  // the path and the table, so the cached one holds until the table changes, which goes through
  // the wrapper below (the engine's shared-config refresh included).
  let lastCostMethod: string | undefined;
  let lastCostPath: string | undefined;
  let lastCost = 0;
  const costOf = (method: string, path: string): number => {
    if (lastCostPath === undefined || path !== lastCostPath || method !== lastCostMethod) {
      lastCost = costTable.costOf(method, path);
      lastCostMethod = method;
      lastCostPath = path;
    }
    return lastCost;
  };
  const endpointCosts: EndpointCosts = {
    defaultCost: costTable.defaultCost,
    costOf,
    set(path, cost, method) {
      lastCostPath = undefined;
      costTable.set(path, cost, method);
    },
    remove(path, method) {
      lastCostPath = undefined;
      return costTable.remove(path, method);
    },
    list: () => costTable.list(),
  };

  const apiKeys = options.apiKeys;
  const apiKeyHeader = (apiKeys?.header ?? 'x-api-key').toLowerCase();
  const planSpecs = new Map<string, Profile>();
  if (apiKeys) {
    if (typeof apiKeys.resolve !== 'function') throw invalidOption('apiKeys.resolve', apiKeys.resolve, 'a function');
    for (const [plan, profile] of Object.entries(apiKeys.plans ?? {})) {
      planSpecs.set(plan, validateProfile(profile, `apiKeys.plans.${plan}`, maxMultiplier));
    }
  }

  // Specs are derived from profiles; caching them keeps the hot path free of allocations. The
  // one-entry cache in front saves the WeakMap lookup for the profile used last (most traffic
  // is one user type), and it hands the store the same spec object, which its hot path keys on.
  const specCache = new WeakMap<Profile, TokenBucketSpec>();
  let lastProfile: Profile | undefined;
  let lastProfileSpec: TokenBucketSpec | undefined;
  const specOf = (profile: Profile): TokenBucketSpec => {
    if (profile === lastProfile) return lastProfileSpec as TokenBucketSpec;
    let spec = specCache.get(profile);
    if (!spec) {
      spec = tokenBucket(profile);
      specCache.set(profile, spec);
    }
    lastProfile = profile;
    lastProfileSpec = spec;
    return spec;
  };
  const specFor = ({ profile }: Pick<Identity, 'profile'>): TokenBucketSpec => specOf(profile);

  let configVersion = -1;
  let lastRefresh = Number.NEGATIVE_INFINITY;
  let refreshing = false;

  /**
   * Checks a shared config completely and returns how to put it in force. Nothing changes until
   * the returned function runs, so a config that fails is ignored as a whole rather than left
   * half-applied (new profiles with the old costs half removed).
   */
  const prepareShared = (data: LimiterSharedConfig): (() => void) => {
    const nextProfiles = mergeProfiles(baseProfiles, data.profiles, 'shared config profiles', maxMultiplier);
    const shared = data.endpointCosts ?? [];
    if (!Array.isArray(shared)) throw invalidOption('shared config endpointCosts', shared, 'an array of { path, cost, method? }');
    const rules = [...baseCostRules, ...shared];
    createEndpointCosts({ rules });
    return () => {
      profiles = nextProfiles;
      for (const rule of endpointCosts.list()) endpointCosts.remove(rule.path, rule.method);
      for (const rule of rules) endpointCosts.set(rule.path, rule.cost, rule.method);
    };
  };

  const refreshConfig = (): MaybePromise<void> => {
    lastRefresh = clock.now();
    refreshing = true;
    const done = (): void => {
      refreshing = false;
    };
    try {
      const pending = chain(store.getConfig(), (shared) => {
        done();
        if (!shared || shared.version === configVersion) return;
        try {
          prepareShared(shared.data as LimiterSharedConfig)();
          configVersion = shared.version;
        } catch (error) {
          configVersion = shared.version;
          logger.error({ err: error, version: shared.version }, 'ignoring invalid shared rate-limit config');
        }
      });
      if (isThenable(pending)) {
        // Promise.resolve adopts any thenable, so its rejection is always handled here.
        return Promise.resolve(pending).catch((error: unknown) => {
          done();
          logger.warn({ err: error }, 'could not read shared rate-limit config');
        });
      }
      return pending;
    } catch (error) {
      done();
      logger.warn({ err: error }, 'could not read shared rate-limit config');
      return undefined;
    }
  };

  /**
   * A read-modify-write of the shared config that never undoes another instance's change: the
   * write names the version it read, and when another write came first (the store answers 0)
   * the change is made again on what is there now.
   */
  const writeShared = (change: (current: LimiterSharedConfig) => LimiterSharedConfig, attempt = 1): MaybePromise<void> =>
    chain(store.getConfig(), (shared) => {
      const next = change((shared?.data ?? {}) as LimiterSharedConfig);
      // Checked before it is saved, put in force only once saved: a change the store refused
      // would otherwise stay in force here alone (the next refresh sees an unchanged version).
      const apply = prepareShared(next);
      return chain(store.setConfig(next as Record<string, unknown>, { ifVersion: shared?.version ?? 0 }), (version): MaybePromise<void> => {
        if (version === 0) {
          if (attempt >= SHARED_WRITE_ATTEMPTS) {
            throw new LimiterError('STORE_ERROR', `shared config changed under ${attempt} attempts to write it; try again`);
          }
          return writeShared(change, attempt + 1);
        }
        apply();
        configVersion = version;
        return undefined;
      });
    });

  // Per-request objects the synchronous path reuses rather than allocates. The classifier is
  // ours and synchronous and keeps nothing of its input, so one mutable input serves every call.
  const ipOptions = { ipv6Subnet };
  const NO_HEADERS: LimiterRequest['headers'] = Object.freeze({});
  const classifyInput: { -readonly [K in keyof ClassifyInput]: ClassifyInput[K] } = {
    ip: undefined,
    headers: NO_HEADERS,
    authenticated: false,
  };
  const classify = (request: LimiterRequest, authenticated: boolean): UserType => {
    classifyInput.ip = request.ip;
    classifyInput.headers = request.headers;
    classifyInput.authenticated = authenticated;
    const userType = classifier.classify(classifyInput);
    // Not kept past the call: the input must not hold a finished request's headers alive.
    classifyInput.headers = NO_HEADERS;
    return userType;
  };

  // The key of the address seen last: ipKey parses and formats, and consecutive requests often
  // come from one client. ipKey is pure, so the cached key is the one it would return.
  let lastIp: string | undefined;
  let lastIpKey = '';
  const anonymousKey = (ip: string | undefined): string => {
    if (ip === undefined) return 'ip:unknown';
    if (ip !== lastIp) {
      lastIpKey = `ip:${ipKey(ip, ipOptions) || 'unknown'}`;
      lastIp = ip;
    }
    return lastIpKey;
  };

  const keyOf = (request: LimiterRequest, authenticated: boolean): string =>
    authenticated ? `user:${request.userId}` : anonymousKey(request.ip);

  const identifyAnonymousOrUser = (request: LimiterRequest): Identity => {
    const authenticated = request.userId !== undefined && request.userId !== '';
    const userType = classify(request, authenticated);
    return { key: keyOf(request, authenticated), userType, plan: undefined, profile: profiles[userType] };
  };

  /** The request's API key, when API keys are configured and the request carries one. */
  const apiKeyOf = (request: LimiterRequest): string | undefined => {
    if (!apiKeys) return undefined;
    const raw = request.headers[apiKeyHeader];
    return (Array.isArray(raw) ? raw[0] : raw) || undefined;
  };

  /** The identity a key's lookup result gives. */
  const identifyByKey = (request: LimiterRequest, found: { id: string; plan: string } | undefined): Identity => {
    const profile = found && planSpecs.get(found.plan);
    if (found && profile) {
      return { key: `apikey:${found.id}`, userType: 'authenticated' as const, plan: found.plan, profile };
    }
    // An unknown key (or one on an unknown plan) is treated as no key at all.
    return identifyAnonymousOrUser(request);
  };

  /**
   * A lookup that throws or rejects is an unknown key. The key comes from the client, and many
   * lookups throw on malformed input (a database cast, a token check): were the failure to reach
   * the caller, it would pass as a store outage and, failing open, any client could lift its own
   * limit by sending a bad key. Logged without the key, which may be a credential: its length and at
   * most its first four characters (a quarter of it, for a short key), enough to tell keys apart.
   * At most once per 10 s, with a count of the failures held back: a client can send a bad key on
   * every request.
   */
  const lookupWarn = createThrottledLog(logger, clock, 'warn');
  const lookupFailed = (request: LimiterRequest, apiKey: string, error: unknown): Identity => {
    lookupWarn(
      { err: error, apiKeyPrefix: apiKey.slice(0, Math.min(4, apiKey.length >> 2)), apiKeyLength: apiKey.length },
      'rate limiter: apiKeys.resolve failed; treating the API key as unknown',
    );
    return identifyAnonymousOrUser(request);
  };

  const identify = (request: LimiterRequest): MaybePromise<Identity> => {
    if (apiKeys) {
      const apiKey = apiKeyOf(request);
      if (apiKey) {
        let found: MaybePromise<{ id: string; plan: string } | undefined>;
        try {
          found = apiKeys.resolve(apiKey);
        } catch (error) {
          return lookupFailed(request, apiKey, error);
        }
        if (isThenable(found)) {
          return found.then(
            (value) => identifyByKey(request, value),
            (error: unknown) => lookupFailed(request, apiKey, error),
          );
        }
        return identifyByKey(request, found);
      }
    }
    return identifyAnonymousOrUser(request);
  };

  // A limited client is logged once per limit window, not once per request.
  const warnedUntil = new Map<string, number>();
  const warnLimited = (result: LimitResult, request: LimiterRequest): void => {
    const now = clock.now();
    const until = warnedUntil.get(result.key);
    if (until !== undefined && until > now) return;
    if (warnedUntil.size >= 10_000) warnedUntil.clear();
    warnedUntil.set(result.key, Math.max(result.decision.resetAt, now + result.decision.retryAfter));
    logger.warn(
      {
        key: result.key,
        userType: result.userType,
        method: request.method,
        path: request.path,
        cost: result.cost,
        limit: result.decision.limit,
        retryAfterMs: result.decision.retryAfter,
      },
      `Rate limit exceeded for ${result.key}`,
    );
  };

  const finish = (
    request: LimiterRequest,
    key: string,
    userType: UserType,
    plan: string | undefined,
    profile: Profile,
    cost: number,
    decision: StoreDecision,
  ): LimitResult => {
    // Spelled out rather than spread: a spread here cost more than the rest of the decision.
    const result: LimitResult = { key, userType, plan, profile, decision, cost };
    if (!decision.allowed) warnLimited(result, request);
    return result;
  };

  /**
   * Costs and consumes for an identified client. Written without `chain`: on a synchronous store
   * no closure is allocated, and the identity travels as arguments rather than as an object.
   */
  const decide = (
    request: LimiterRequest,
    key: string,
    userType: UserType,
    plan: string | undefined,
    profile: Profile,
  ): MaybePromise<LimitResult> => {
    const cost = costOf(request.method, request.path);
    const spec = specOf(profile);
    const consume = store.consume(adaptive ? { key, spec, cost, adaptive } : { key, spec, cost });
    if (isThenable(consume)) {
      return consume.then((decision) => finish(request, key, userType, plan, profile, cost, decision));
    }
    return finish(request, key, userType, plan, profile, cost, consume);
  };

  const check = (request: LimiterRequest): MaybePromise<LimitResult> => {
    // A clock that stepped back (NTP, a restored VM) refreshes too: waiting for it to catch up
    // would hide other instances' changes for as long as it stepped.
    const sinceRefresh = clock.now() - lastRefresh;
    if (!refreshing && (sinceRefresh >= refreshMs || sinceRefresh < 0)) void refreshConfig();
    if (apiKeyOf(request) === undefined) {
      // The common case, identified synchronously without an Identity object.
      const authenticated = request.userId !== undefined && request.userId !== '';
      const userType = classify(request, authenticated);
      return decide(request, keyOf(request, authenticated), userType, undefined, profiles[userType]);
    }
    return chain(identify(request), (identity) =>
      decide(request, identity.key, identity.userType, identity.plan, identity.profile),
    );
  };

  const record = (key: string, status: number): MaybePromise<void> => {
    if (!adaptive) return undefined;
    // A store that can hold the outcome (Redis folds it into the client's next consume) saves a
    // round trip per request; nothing here reads the new multiplier.
    if (store.note !== undefined) return store.note(key, outcomeOf(status, adaptive), adaptive);
    return chain(store.record(key, outcomeOf(status, adaptive), adaptive), () => undefined);
  };

  return {
    store,
    adaptive,
    endpointCosts,
    identify,
    check,
    record,
    profiles: () => profiles,
    specFor,
    refreshConfig,
    setProfile(userType, patch) {
      if (!USER_TYPES.includes(userType)) throw invalidOption('userType', userType, `one of ${USER_TYPES.join(', ')}`);
      // Checked at once, so a bad value fails here rather than in the write.
      validateProfile({ ...profiles[userType], ...patch }, `profiles.${userType}`, maxMultiplier);
      return writeShared((current) => {
        // Merged onto the profile just read from the store, not onto this instance's copy: that
        // may predate another instance's change to the same profile, which writing it back would
        // undo. Only the fields in the patch change.
        const profile = validateProfile(
          { ...baseProfiles[userType], ...current.profiles?.[userType], ...patch },
          `profiles.${userType}`,
          maxMultiplier,
        );
        return { ...current, profiles: { ...current.profiles, [userType]: profile } };
      });
    },
    setEndpointCost(path, cost, method) {
      // Validate through a scratch table first so a bad value never reaches the shared config.
      createEndpointCosts({ rules: [method === undefined ? { path, cost } : { path, cost, method }] });
      return writeShared((current) => {
        const rules = (current.endpointCosts ?? []).filter(
          (rule) => !(rule.path === path && (rule.method ?? undefined) === (method?.toUpperCase() ?? undefined)),
        );
        const rule: EndpointCostRule = method === undefined ? { path, cost } : { path, cost, method: method.toUpperCase() };
        return { ...current, endpointCosts: [...rules, rule] };
      });
    },
  };
}

function mergeProfiles(
  base: Readonly<Record<UserType, Profile>>,
  overrides: Partial<Record<UserType, Profile>> | undefined,
  option: string,
  maxMultiplier: number,
): Readonly<Record<UserType, Profile>> {
  let result = base;
  if (overrides !== undefined) {
    if (typeof overrides !== 'object' || overrides === null) throw invalidOption(option, overrides, 'an object of profiles');
    const merged = { ...base };
    for (const [userType, profile] of Object.entries(overrides)) {
      if (!USER_TYPES.includes(userType as UserType)) {
        throw invalidOption(`${option}.${userType}`, userType, `a user type: ${USER_TYPES.join(', ')}`);
      }
      if (profile === undefined) continue;
      merged[userType as UserType] = validateProfile({ ...base[userType as UserType], ...profile }, `${option}.${userType}`);
    }
    result = Object.freeze(merged);
  }
  // Every profile, the defaults too, against the rate adaptive scaling can take it to: an
  // adaptive.max of 20 takes the development profile's 1,000 per second past the bound.
  for (const userType of USER_TYPES) validateProfile(result[userType], `${option}.${userType}`, maxMultiplier);
  return result;
}
