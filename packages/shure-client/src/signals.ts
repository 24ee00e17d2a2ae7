/** A signal that follows several others, and a way to let go of them. */
export interface LinkedSignal {
  /** Aborts, with the same reason, as soon as one of the sources does. */
  readonly signal: AbortSignal;
  /** Removes the listeners put on the sources. Call it when the work the signal guards has settled. */
  dispose(): void;
}

/**
 * A signal that aborts when any of `sources` does (undefined ones are skipped), with that source's
 * reason. Not `AbortSignal.any`: it needs Node 20.3 (the engines allow 20.0), and it keeps its
 * listeners on a long-lived source until the combined signal is garbage-collected. The client links
 * every call to its own lifetime signal, so it removes them itself, with `dispose()`, when the call
 * settles.
 */
export function anySignal(sources: ReadonlyArray<AbortSignal | undefined>): LinkedSignal {
  const controller = new AbortController();
  const listening: Array<{ source: AbortSignal; onAbort: () => void }> = [];
  const dispose = (): void => {
    for (const { source, onAbort } of listening.splice(0)) source.removeEventListener('abort', onAbort);
  };
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      dispose();
      controller.abort(source.reason);
      break;
    }
    const onAbort = (): void => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    listening.push({ source, onAbort });
  }
  return { signal: controller.signal, dispose };
}
