import { invalidOption } from '@micboard/limiter-core';

/** The `ifVersion` of a `setConfig` call, checked: undefined (write unconditionally) or an integer >= 0. */
export function checkIfVersion(options: { readonly ifVersion?: number } | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object { ifVersion }');
  const version = options.ifVersion;
  if (version === undefined) return undefined;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw invalidOption('ifVersion', version, 'an integer of at least 0');
  }
  return version;
}
