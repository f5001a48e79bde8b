// holdUntil, the long-poll both relays share: how many store calls a held poll costs, that a
// wake-up during the first attempt is not lost, and that every way out leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heldOn, holdUntil, type Hold } from '../../src/core/hold.js';
import { WaiterHub } from '../../src/core/wake-hub.js';
import type { RelayStore } from '../../src/store/types.js';

function setup() {
  const hub = new WaiterHub();
  const store = { watch: (channel, key) => hub.watch(channel, key) } as Pick<RelayStore, 'watch'> as RelayStore;
  const drain = new AbortController();
  const client = new AbortController();
  /** A hold on this setup's store and signals: on ('work', 'n') unless told otherwise. */
  const hold = <T>(options: Pick<Hold<T>, 'holdMs' | 'attempt' | 'settled'> & Partial<Hold<T>>): Promise<T> =>
    holdUntil({ store, channel: 'work', key: 'n', signal: client.signal, drainSignal: drain.signal, ...options });
  return { hub, drain, client, hold };
}

describe('holdUntil', () => {
  it('an answer found at once: one attempt, no waiter left', async () => {
    const { hub, hold } = setup();
    let attempts = 0;
    const value = await hold({
      holdMs: 5000,
      attempt: () => Promise.resolve(++attempts),
      settled: () => true,
    });
    assert.equal(value, 1);
    assert.equal(attempts, 1);
    assert.equal(hub.size, 0);
  });

  it('nothing arrives: two attempts (on arrival and at the deadline), then the unsettled value', async () => {
    const { hub, drain, hold } = setup();
    let attempts = 0;
    const value = await hold({
      holdMs: 60,
      attempt: () => Promise.resolve(++attempts),
      settled: () => false,
    });
    assert.equal(attempts, 2);
    assert.equal(value, 2);
    assert.equal(hub.size, 0);
    assert.equal(heldOn(drain.signal), 0);
  });

  it('a wake-up sent while the first attempt runs is not lost', async () => {
    const { hub, hold } = setup();
    let ready = false;
    let attempts = 0;
    const started = Date.now();
    const value = await hold({
      channel: 'response',
      key: 'c',
      holdMs: 10_000,
      attempt: () => {
        attempts += 1;
        if (attempts === 1) {
          // The answer lands between this attempt's read and the wait.
          ready = true;
          hub.notify('response', 'c');
          return Promise.resolve('nothing');
        }
        return Promise.resolve(ready ? 'answer' : 'nothing');
      },
      settled: (v) => v === 'answer',
    });
    assert.equal(value, 'answer');
    assert.equal(attempts, 2);
    assert.ok(Date.now() - started < 5000);
    assert.equal(hub.size, 0);
  });

  it('the client leaving ends the hold with no further attempt; draining ends it after one last look', async () => {
    for (const which of ['client', 'drain'] as const) {
      const { hub, drain, client, hold } = setup();
      let attempts = 0;
      const held = hold({
        holdMs: 10_000,
        attempt: () => Promise.resolve(++attempts),
        settled: () => false,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(heldOn(drain.signal), 1);
      (which === 'client' ? client : drain).abort();
      await held;
      // Nothing may be claimed for a client that is gone; a drained hold is answered, from a last attempt.
      assert.equal(attempts, which === 'client' ? 1 : 2, which);
      assert.equal(hub.size, 0, which);
      assert.equal(heldOn(drain.signal), 0, which);
    }
  });

  it('no hold time, or a client already gone: one attempt, no waiter', async () => {
    const { hub, client, hold } = setup();
    client.abort();
    let attempts = 0;
    const common = { attempt: () => Promise.resolve(++attempts), settled: () => false };
    await hold({ ...common, holdMs: 5000 });
    await hold({ ...common, holdMs: 0, signal: new AbortController().signal });
    assert.equal(attempts, 2);
    assert.equal(hub.size, 0);
  });
});
