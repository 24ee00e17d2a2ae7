/**
 * Client keys shaped like the limiter's own (`ip:<IPv4>`), built by concatenation as a server
 * builds them, so every implementation pays for the same realistic strings.
 */
export function keyFor(i: number): string {
  return `ip:10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}

/** `n` distinct keys, built once so a timed loop measures decisions, not string building. */
export function makeKeys(n: number): string[] {
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = keyFor(i);
  return keys;
}
