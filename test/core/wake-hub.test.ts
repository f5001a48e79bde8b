// The in-process wake-up hub: one waiter per held poll, woken by key, never lost between the
// check and the wait, and gone from the hub once closed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WaiterHub } from '../../src/core/wake-hub.js';

describe('WaiterHub', () => {
  it('wakes the waiters of one key only, on one channel only', async () => {
    const hub = new WaiterHub();
    const a1 = hub.watch('work', 'a');
    const a2 = hub.watch('work', 'a');
    const b = hub.watch('work', 'b');
    const ra = hub.watch('response', 'a');
    const pending = [a1.wait(2000), a2.wait(2000), b.wait(50), ra.wait(50)];
    hub.notify('work', 'a');
    assert.deepEqual(await Promise.all(pending), [true, true, false, false]);
    for (const w of [a1, a2, b, ra]) w.close();
    assert.equal(hub.size, 0);
  });

  it('a wake-up before wait() is kept for the next wait, once', async () => {
    const hub = new WaiterHub();
    const w = hub.watch('response', 'c');
    hub.notify('response', 'c');
    assert.equal(await w.wait(10_000), true);
    assert.equal(await w.wait(20), false);
    w.close();
  });

  it('an abort ends the wait at once and leaves no listener on the signal', async () => {
    const hub = new WaiterHub();
    const w = hub.watch('work', 'n');
    const controller = new AbortController();
    const pending = w.wait(10_000, controller.signal);
    controller.abort();
    assert.equal(await pending, false);
    // Woken after the abort: the next wait sees it (the abort did not unregister the waiter).
    hub.notify('work', 'n');
    assert.equal(await w.wait(10_000), true);
    w.close();
  });

  it('close ends a pending wait, unregisters, and is idempotent', async () => {
    const hub = new WaiterHub();
    const w = hub.watch('work', 'n');
    const other = hub.watch('work', 'n');
    const pending = w.wait(10_000);
    assert.equal(hub.size, 2);
    w.close();
    w.close();
    assert.equal(await pending, false);
    assert.equal(hub.size, 1);
    assert.equal(await w.wait(10_000), false);
    other.close();
    assert.equal(hub.size, 0);
  });

  it('notifyAll wakes every waiter once, waiting or not', async () => {
    const hub = new WaiterHub();
    const waiters = Array.from({ length: 1000 }, (_, i) => hub.watch(i % 2 === 0 ? 'work' : 'response', `k${i % 300}`));
    const waiting = waiters.slice(0, 500).map((w) => w.wait(10_000));
    hub.notifyAll();
    assert.deepEqual(new Set(await Promise.all(waiting)), new Set([true]));
    assert.deepEqual(new Set(await Promise.all(waiters.slice(500).map((w) => w.wait(10_000)))), new Set([true]));
    for (const w of waiters) w.close();
    assert.equal(hub.size, 0);
  });
});
