// Wake-ups across replicas: every transition that makes work or a response available publishes
// "w<node>" or "r<client>" on one channel; each process holds one subscriber connection and fans
// the messages out to its local waiters (WaiterHub). After the subscriber reconnects, every local
// waiter is woken once to re-check, since messages published while it was away are lost.
//
// On Redis Cluster this is plain PUBLISH/SUBSCRIBE, which the cluster bus broadcasts to every
// node: the subscriber may sit on any node, and a script's PUBLISH reaches it. Sharded pub/sub
// (SPUBLISH, Redis 7.0+) would keep messages on the slot's shard, but the relay publishes one
// channel at a modest rate, so the broadcast costs little and works on every Redis the store runs on.
import { quit, type RedisClient } from './connection.js';
import { WaiterHub } from '../../core/wake-hub.js';
import type { WakeChannel, Waiter } from '../types.js';

export class WakeFanout {
  readonly #hub = new WaiterHub();
  #subscribed = false;

  constructor(
    private readonly sub: RedisClient,
    private readonly channel: string,
  ) {
    sub.on('error', () => {
      // Reconnects on its own; health() reports the command connection's reason.
    });
    sub.on('close', () => {
      this.#subscribed = false;
    });
    sub.on('ready', () => {
      // ioredis re-subscribes by itself on reconnect; the first connect subscribes here.
      sub
        .subscribe(channel)
        .then(() => {
          this.#subscribed = true;
          this.#wakeAll();
        })
        .catch(() => {
          // The connection dropped again; the next 'ready' retries.
        });
    });
    sub.on('message', (from: string, message: string) => {
      if (from !== channel || message.length < 2) return;
      const kind = message[0] === 'w' ? 'work' : message[0] === 'r' ? 'response' : null;
      if (kind !== null) this.#hub.notify(kind, message.slice(1));
    });
  }

  get ready(): boolean {
    return this.#subscribed && this.sub.status === 'ready';
  }

  get size(): number {
    return this.#hub.size;
  }

  /** Local bookkeeping only: every held poll of this process shares the one subscription. */
  watch(channel: WakeChannel, key: string): Waiter {
    return this.#hub.watch(channel, key);
  }

  #wakeAll(): void {
    this.#hub.notifyAll();
  }

  async close(): Promise<void> {
    this.#subscribed = false;
    await quit(this.sub);
  }
}
