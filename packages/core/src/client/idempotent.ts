/** Methods RFC 9110 (section 9.2.2) defines as idempotent: repeating them has the effect of sending once. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * Whether an HTTP method is idempotent by definition (GET, HEAD, PUT, DELETE, OPTIONS, TRACE), so a
 * retry cannot do something twice. Case-insensitive, because clients often spell methods in lower
 * case. POST and PATCH are not: pass `idempotent: true` to {@link nextRetry} yourself when you know
 * a particular POST is safe to repeat (for example, it carries an idempotency key).
 */
export function isIdempotentMethod(method: string): boolean {
  return typeof method === 'string' && IDEMPOTENT_METHODS.has(method.toUpperCase());
}
