// Local wake-ups for long-polls. The memory store notifies directly; the Redis store notifies
// when a pub/sub message from any replica arrives. A waiter is registered before the caller
// checks state, so a wake-up between "check" and "wait" is never missed.
import type { WakeChannel, Waiter } from '../store/types.js';

type Listener = () => void;

export class WaiterHub {
  readonly #listeners = new Map<string, Set<Listener>>();

  /** Number of registered waiters (for metrics and leak tests). */
  get size(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  notify(channel: WakeChannel, key: string): void {
    const set = this.#listeners.get(`${channel}\u0000${key}`);
    if (set === undefined) return;
    for (const listener of [...set]) listener();
  }

  watch(channel: WakeChannel, key: string): Waiter {
    const id = `${channel}\u0000${key}`;
    let woken = false;
    let wake: (() => void) | undefined;
    const listener: Listener = () => {
      woken = true;
      wake?.();
    };
    let set = this.#listeners.get(id);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(id, set);
    }
    set.add(listener);
    const close = (): void => {
      const current = this.#listeners.get(id);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(id);
    };
    return {
      close,
      wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
        if (woken) {
          woken = false;
          return Promise.resolve(true);
        }
        if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
        return new Promise<boolean>((resolve) => {
          const finish = (value: boolean): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            wake = undefined;
            woken = false;
            resolve(value);
          };
          const onAbort = (): void => finish(false);
          const timer = setTimeout(() => finish(false), timeoutMs);
          wake = () => finish(true);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      },
    };
  }
}
