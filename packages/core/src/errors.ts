/** What went wrong, as a stable string a caller can switch on. */
export type LimiterErrorCode =
  | 'INVALID_OPTION'
  | 'STORE_ERROR'
  | 'STORE_TIMEOUT'
  | 'QUEUE_FULL'
  | 'WAIT_TOO_LONG'
  | 'ABORTED';

/**
 * The one error class of `@micboard/limiter-core`. Bad options fail at construction with
 * `code: 'INVALID_OPTION'`, and the message names the option and the value it got.
 */
export class LimiterError extends Error {
  override readonly name = 'LimiterError';
  readonly code: LimiterErrorCode;
  /** The option at fault, for `INVALID_OPTION`. */
  readonly option: string | undefined;
  /** The value the option had, for `INVALID_OPTION`. */
  readonly value: unknown;

  constructor(
    code: LimiterErrorCode,
    message: string,
    details: { option?: string; value?: unknown; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.option = details.option;
    this.value = details.value;
  }
}

/** Formats a value for an error message: strings quoted, everything else as JSON-ish text. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Builds the `INVALID_OPTION` error: `<option> must be <expected>; got <value>`. */
export function invalidOption(option: string, value: unknown, expected: string): LimiterError {
  return new LimiterError('INVALID_OPTION', `${option} must be ${expected}; got ${describeValue(value)}`, {
    option,
    value,
  });
}
