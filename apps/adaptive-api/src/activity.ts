/**
 * A bounded, in-process record of recent limiter decisions, fed by the middleware's `onDecision`:
 * per client its user type and counts, and the latest denials. The store knows tokens and
 * multipliers; this knows what the store does not keep, for the dashboard.
 */

/** What the log reads from a decision event (a subset of the HTTP layer's `DecisionEvent`). */
export interface ActivityEvent {
  readonly limiter: string;
  readonly route: string;
  readonly method: string;
  readonly key: string | undefined;
  readonly userType: string | undefined;
  readonly allowed: boolean;
  readonly cost: number;
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
}

export interface ClientActivity {
  readonly key: string;
  readonly userType: string | undefined;
  readonly allowed: number;
  readonly denied: number;
  /** As of the client's last decision. */
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
  /** ms since the epoch. */
  readonly lastSeen: number;
}

export interface Denial {
  /** ms since the epoch. */
  readonly at: number;
  readonly key: string;
  readonly userType: string | undefined;
  readonly method: string;
  readonly route: string;
  readonly cost: number;
}

export interface ActivitySnapshot {
  /** Most recently active first. */
  readonly clients: ClientActivity[];
  /** Newest first. */
  readonly denials: Denial[];
}

export interface ActivityLog {
  readonly onDecision: (event: ActivityEvent) => void;
  snapshot(): ActivitySnapshot;
  /** Forgets a client's counts (after an admin reset). */
  forget(key: string): void;
}

export interface ActivityLogOptions {
  /** Most clients remembered; the least recently active is dropped first. @default 500 */
  readonly maxClients?: number;
  /** Most denials remembered. @default 50 */
  readonly maxDenials?: number;
  /** ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const activity = createActivityLog();
 * app.use(rateLimit({ store, onDecision: activity.onDecision }));
 */
export function createActivityLog(options: ActivityLogOptions = {}): ActivityLog {
  const maxClients = options.maxClients ?? 500;
  const maxDenials = options.maxDenials ?? 50;
  const now = options.now ?? (() => Date.now());
  // A Map keeps insertion order: re-inserting on every event makes the first entry the least recent.
  const clients = new Map<string, ClientActivity>();
  const denials: Denial[] = [];

  return {
    onDecision(event) {
      if (event.key === undefined) return;
      const at = now();
      const previous = clients.get(event.key);
      clients.delete(event.key);
      clients.set(event.key, {
        key: event.key,
        userType: event.userType ?? previous?.userType,
        allowed: (previous?.allowed ?? 0) + (event.allowed ? 1 : 0),
        denied: (previous?.denied ?? 0) + (event.allowed ? 0 : 1),
        limit: event.limit ?? previous?.limit,
        remaining: event.remaining ?? previous?.remaining,
        lastSeen: at,
      });
      if (clients.size > maxClients) {
        const oldest = clients.keys().next().value;
        if (oldest !== undefined) clients.delete(oldest);
      }
      if (!event.allowed) {
        denials.push({ at, key: event.key, userType: event.userType, method: event.method, route: event.route, cost: event.cost });
        if (denials.length > maxDenials) denials.splice(0, denials.length - maxDenials);
      }
    },
    snapshot() {
      return { clients: [...clients.values()].reverse(), denials: [...denials].reverse() };
    },
    forget(key) {
      clients.delete(key);
    },
  };
}
