// Local wake-ups for long-polls. The memory store notifies directly; the Redis store notifies
// when a pub/sub message from any replica arrives. A waiter is registered before the caller
// checks state, so a wake-up between "check" and "wait" is never missed.
//
// Every held poll has a waiter for its whole hold, so a waiter is one small object: the abort
// listener is the waiter itself (handleEvent) and the timer calls a module-level function, with
// no closures per wait. Tens of thousands are held at once on a busy relay. Waiters are filed by
// channel, then key: a key joined to its channel would be a fresh string per waiter that V8
// flattens and hashes on every lookup (keys are ~450-character public keys).
import type { WakeChannel, Waiter } from '../store/types.js';
import type { CallerSignal } from './caller-signal.js';

function timedOut(waiter: HubWaiter): void {
  waiter.settle(false);
}

class HubWaiter implements Waiter, EventListenerObject {
  #woken = false;
  #closed = false;
  #resolve: ((woken: boolean) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #signal: CallerSignal | null = null;

  constructor(
    private readonly hub: WaiterHub,
    readonly channel: WakeChannel,
    readonly key: string,
  ) {}

  /** Called by the hub: resolves a pending wait, or marks the next wait to return at once. */
  wake(): void {
    if (this.#resolve !== null) this.settle(true);
    else this.#woken = true;
  }

  /** The signal's abort. */
  handleEvent(): void {
    this.settle(false);
  }

  settle(woken: boolean): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#signal?.removeEventListener('abort', this);
    this.#signal = null;
    this.#woken = false;
    resolve(woken);
  }

  wait(timeoutMs: number, signal?: CallerSignal): Promise<boolean> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve(true);
    }
    if (timeoutMs <= 0 || signal?.aborted === true || this.#closed) return Promise.resolve(false);
    // One wait at a time per waiter (src/core/hold.ts awaits each before the next): a second
    // concurrent wait ends the first as not woken.
    this.settle(false);
    return new Promise<boolean>((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(timedOut, timeoutMs, this);
      if (signal !== undefined) {
        this.#signal = signal;
        signal.addEventListener('abort', this, { once: true });
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.settle(false);
    this.hub.remove(this);
  }
}

export class WaiterHub {
  readonly #waiters = new Map<WakeChannel, Map<string, Set<HubWaiter>>>();
  #size = 0;

  /** Number of registered waiters (for metrics and leak tests). */
  get size(): number {
    return this.#size;
  }

  notify(channel: WakeChannel, key: string): void {
    const set = this.#waiters.get(channel)?.get(key);
    if (set === undefined) return;
    for (const waiter of [...set]) waiter.wake();
  }

  /** Wakes every waiter once (the Redis subscriber reconnected: messages may have been lost). */
  notifyAll(): void {
    for (const byKey of [...this.#waiters.values()]) for (const set of [...byKey.values()]) for (const waiter of [...set]) waiter.wake();
  }

  watch(channel: WakeChannel, key: string): Waiter {
    const waiter = new HubWaiter(this, channel, key);
    let byKey = this.#waiters.get(channel);
    if (byKey === undefined) {
      byKey = new Map();
      this.#waiters.set(channel, byKey);
    }
    let set = byKey.get(key);
    if (set === undefined) {
      set = new Set();
      byKey.set(key, set);
    }
    set.add(waiter);
    this.#size += 1;
    return waiter;
  }

  /** A waiter closed (HubWaiter.close). */
  remove(waiter: HubWaiter): void {
    const byKey = this.#waiters.get(waiter.channel);
    const set = byKey?.get(waiter.key);
    if (byKey === undefined || set === undefined || !set.delete(waiter)) return;
    this.#size -= 1;
    if (set.size === 0) byKey.delete(waiter.key);
  }
}
