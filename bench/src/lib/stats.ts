/** Small, allocation-light statistics for timing samples. */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Formats a number with a sensible number of significant digits for a table. */
export function fmt(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/** A ratio rendered as `1.23x`, or a dash when either side is missing. */
export function ratio(ours: number | undefined, base: number | undefined): number | undefined {
  if (ours === undefined || base === undefined || !Number.isFinite(ours) || !Number.isFinite(base) || base === 0) {
    return undefined;
  }
  return ours / base;
}

export function fmtRatio(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(2)}x`;
}
