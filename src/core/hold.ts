// The long-poll shared by the legacy and API v1 relays: try, and while the answer is not
// settled, wait for a wake-up on (channel, key) and try again, until the hold time passes.
import type { RelayStore, WakeChannel } from '../store/types.js';
import type { CallerSignal } from './caller-signal.js';

export interface Hold<T> {
  store: RelayStore;
  channel: WakeChannel;
  key: string;
  holdMs: number;
  /** The caller's connection: once it is gone, no further attempt is made (nothing is claimed for it). */
  signal: CallerSignal;
  /** Aborted when the relay drains: the hold ends at once. */
  drainSignal: AbortSignal;
  attempt: () => Promise<T>;
  settled: (value: T) => boolean;
}

/**
 * The holds waiting on each drain signal. The signal carries one abort listener that fans out to
 * them, instead of one listener per held poll: a busy relay holds hundreds, and Node's
 * MaxListenersExceededWarning after 10 stays a real leak alarm for that process-long signal.
 */
const drainWaiters = new WeakMap<AbortSignal, Set<() => void>>();

function onDrain(drainSignal: AbortSignal, listener: () => void): () => void {
  let waiters = drainWaiters.get(drainSignal);
  if (waiters === undefined) {
    const created = new Set<() => void>();
    drainWaiters.set(drainSignal, created);
    drainSignal.addEventListener(
      'abort',
      () => {
        for (const wake of [...created]) wake();
        created.clear();
      },
      { once: true },
    );
    waiters = created;
  }
  waiters.add(listener);
  const registered = waiters;
  return () => registered.delete(listener);
}

/** Holds currently waiting on `drainSignal` (for leak tests). */
export function heldOn(drainSignal: AbortSignal): number {
  return drainWaiters.get(drainSignal)?.size ?? 0;
}

export async function holdUntil<T>({ store, channel, key, holdMs, signal, drainSignal, attempt, settled }: Hold<T>): Promise<T> {
  if (holdMs <= 0 || drainSignal.aborted || signal.aborted) return attempt();
  // Registered before the first attempt, so a wake-up between an unsettled attempt and the wait
  // is never lost, with one attempt per wait: a held poll that finds nothing costs two store
  // calls (on arrival, and once woken or timed out), not three. Registering is local
  // bookkeeping, no store call, so a poll answered at once pays little for it.
  const waiter = store.watch(channel, key);
  // The wait ends on the caller's own signal; draining closes the waiter, which ends a pending
  // wait too. No AbortController per held poll: each one is an EventTarget with two maps, and a
  // relay holds tens of thousands of polls at once.
  let drained = false;
  let leaveDrain: (() => void) | null = null;
  try {
    let value = await attempt();
    if (settled(value) || signal.aborted || drainSignal.aborted) return value;
    leaveDrain = onDrain(drainSignal, () => {
      drained = true;
      waiter.close();
    });
    const deadline = Date.now() + holdMs;
    while (!settled(value)) {
      const left = deadline - Date.now();
      if (left <= 0 || drained) return value;
      await waiter.wait(left, signal);
      if (signal.aborted) return value;
      value = await attempt();
    }
    return value;
  } finally {
    leaveDrain?.();
    waiter.close();
  }
}
