// An injectable clock: production code asks it for the time and for timers, so unit tests can
// drive time with FakeClock (src/util/fake-clock.ts, kept out of dist/) instead of sleeping.

/** An opaque timer handle returned by Clock.setTimeout. */
export type Timer = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
}

/** Node fires a timeout longer than this (~24.8 days) after 1 ms instead; longer ones are chained. */
const MAX_NODE_TIMEOUT = 2 ** 31 - 1;

interface RealTimer {
  handle: ReturnType<typeof setTimeout> | undefined;
}

/** The wall clock and Node's timers (any delay, even beyond Node's 24.8-day limit). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t: RealTimer = { handle: undefined };
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      t.handle = left > MAX_NODE_TIMEOUT ? setTimeout(arm, MAX_NODE_TIMEOUT) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return t;
  },
  clearTimeout: (t) => clearTimeout((t as RealTimer).handle),
};

/** Resolves after `ms` on `clock`, or at once (with `false`) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clock.clearTimeout(t);
      resolve(false);
    };
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
