/**
 * Client keys may contain any character, but Redis Cluster picks a key's slot from the text
 * between the first `{` and the next `}`. Escaping `{`, `}` (and `%`, so the encoding stays
 * reversible) keeps the whole client key inside one hash tag, so every key of one client lands
 * in one slot and a script may touch them all. The empty key is written '%'.
 */
export function encodeClientKey(key: string): string {
  // An empty tag ('{}') is no hash tag at all: Redis would hash the whole key name. A lone '%'
  // is never produced for a non-empty key (a real '%' becomes '%25'), so it can stand for ''.
  if (key === '') return '%';
  // Fast path: most keys (IPs, user ids) need no escaping and keep their own string.
  if (!/[%{}]/.test(key)) return key;
  return key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

/** The inverse of {@link encodeClientKey}. */
export function decodeClientKey(encoded: string): string {
  if (encoded === '%') return '';
  if (!encoded.includes('%')) return encoded;
  return encoded.replace(/%(25|7B|7D)/g, (_m, code: string) => (code === '25' ? '%' : code === '7B' ? '{' : '}'));
}
