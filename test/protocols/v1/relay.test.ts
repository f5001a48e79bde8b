// The API v1 domain without HTTP: long-poll holds, drain, credentials, outcome reporting, and
// the capability and metadata rules. Fake clock for everything except the hold timers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWith } from '../../../src/config.js';
import { Drain } from '../../../src/core/drain.js';
import { RelayError } from '../../../src/core/errors.js';
import { normaliseCapabilities, resolveModelId } from '../../../src/protocols/v1/capabilities.js';
import { releaseMetadata } from '../../../src/protocols/v1/meta.js';
import { silentV1Observer, type V1Observer } from '../../../src/protocols/v1/observer.js';
import { V1Relay, sha256Hex, type V1RelayOptions } from '../../../src/protocols/v1/relay.js';
import { storeLimits } from '../../../src/store/limits.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { V1Ended } from '../../../src/protocols/v1/types.js';
import { FakeClock } from '../../support/fake-clock.js';

const CAPS = {
  supported_model_ids: ['qwen3-8b-instruct'],
  active_context_tier: '8k-fast',
  maximum_total_context_tokens: 8192,
  default_output_token_reservation: 512,
  maximum_output_tokens: 1024,
  max_concurrency: 1,
};

function recordingObserver() {
  const events = {
    ended: [] as V1Ended[],
    control: [] as string[],
    evicted: [] as string[],
    pickedUp: [] as number[],
    turnaround: [] as number[],
    rejected: [] as string[],
  };
  const observer: V1Observer = {
    ...silentV1Observer,
    ended: (e) => events.ended.push(e),
    controlPoll: (s) => events.control.push(s),
    evicted: (r, n) => events.evicted.push(`${r}:${n}`),
    pickedUp: (ms) => events.pickedUp.push(ms),
    turnaround: (ms) => events.turnaround.push(ms),
    rejected: (code) => events.rejected.push(code),
  };
  return { events, observer };
}

function domain(options: Partial<V1RelayOptions> = {}) {
  const clock = new FakeClock();
  const store = new MemoryStore(storeLimits(configWith()));
  const drain = new Drain();
  const { events, observer } = recordingObserver();
  const v1 = new V1Relay(
    store,
    clock,
    { leaseSeconds: 30, pollWaitSeconds: 0, inflightLeaseSeconds: 30, retrieveHoldMs: 0, ...options },
    observer,
    drain.signal,
  );
  return { v1, store, clock, drain, events };
}

const request = (id = 'r1', node = 'node', client = 'client') => ({
  nodeKey: node,
  clientKey: client,
  requestId: id,
  cancelToken: `tok-${id}`,
  ciphertext: `ct-${id}`,
  cipherkey: 'ck',
  iv: 'iv',
});
const never = new AbortController().signal;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejects(promise: Promise<unknown>, code: string): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RelayError, String(err));
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('V1Relay: registration and credentials', () => {
  it('hands out a fresh credential once; the store keeps only its SHA-256', async () => {
    const { v1, store } = domain();
    const first = await v1.register('node', CAPS);
    assert.ok(first.credential !== null && first.credential.length >= 43);
    await v1.poll('node', undefined, never);
    assert.equal((await v1.register('node', CAPS)).credential, null, 'never again once the node has polled');
    const state = JSON.stringify(await store.snapshot());
    assert.ok(!state.includes(first.credential));
    assert.ok(state.includes(sha256Hex(first.credential)));
    // The credential proves ownership; anything else does not.
    await rejects(v1.unregister('node', 'not-it'), 'invalid_control_credential');
    assert.deepEqual(await v1.unregister('node', first.credential), { removed: true });
  });

  it('a draining memory-store relay refuses new submissions (relay_draining, 503, Retry-After)', async () => {
    const { v1, drain } = domain();
    await v1.register('node', CAPS);
    await v1.admit(request('r1'));
    drain.start();
    const err = await rejects(v1.admit(request('r2')), 'relay_draining');
    assert.equal(err.status, 503);
    assert.ok((err.retryAfter ?? 0) > 0);
    await rejects(v1.admit(request('r1')), 'relay_draining');
  });

  it('cancel tokens are stored as digests too', async () => {
    const { v1, store } = domain();
    await v1.register('node', CAPS);
    await v1.admit(request());
    const state = JSON.stringify(await store.snapshot());
    assert.ok(!state.includes('tok-r1'));
    await rejects(v1.cancel('client', 'r1', null, 'cancelled', 'cancelled'), 'invalid_cancel_token');
  });
});

describe('V1Relay: long-poll holds', () => {
  it('a held poll answers as soon as work is admitted, telling the node to poll again at once', async () => {
    const { v1, events } = domain({ pollWaitSeconds: 5 });
    await v1.register('node', CAPS);
    const started = Date.now();
    const held = v1.poll('node', undefined, never);
    await sleep(50);
    await v1.admit(request());
    const result = await held;
    assert.ok(Date.now() - started < 2000, 'answered on the wake-up, not after the hold');
    assert.equal(result.work?.requestId, 'r1');
    assert.equal(result.nextPingSeconds, 0);
    assert.equal(result.work?.deadlineRemainingSeconds, 480);
    assert.deepEqual(events.pickedUp, [0]);
  });

  it('an idle poll comes back after the poll wait, still with next_ping 0', async () => {
    const { v1 } = domain({ pollWaitSeconds: 1 });
    await v1.register('node', CAPS);
    const started = Date.now();
    const result = await v1.poll('node', undefined, never);
    assert.ok(Date.now() - started >= 900);
    assert.deepEqual(result, { work: null, nextPingSeconds: 0, pollWaitSeconds: 1 });
  });

  it('a node whose connection went away claims nothing', async () => {
    const { v1, store } = domain({ pollWaitSeconds: 5 });
    await v1.register('node', CAPS);
    const gone = new AbortController();
    const held = v1.poll('node', undefined, gone.signal);
    await sleep(30);
    gone.abort();
    await v1.admit(request());
    assert.equal((await held).work, null);
    assert.equal((await store.stats(Date.UTC(2026, 0, 1))).v1Queued, 1, 'still queued for the next poll');
  });

  it('a node unregistered while its poll is held gets node_not_found', async () => {
    const { v1 } = domain({ pollWaitSeconds: 5 });
    const { credential } = await v1.register('node', CAPS);
    const held = v1.poll('node', undefined, never);
    await sleep(30);
    await v1.unregister('node', credential);
    await rejects(held, 'node_not_found');
  });

  it('a held retrieve answers on the response, on progress and on cancellation', async () => {
    const { v1 } = domain({ retrieveHoldMs: 5000 });
    const { credential } = await v1.register('node', CAPS);
    for (const id of ['a', 'b', 'c']) await v1.admit(request(id, 'node', `client-${id}`));
    for (let i = 0; i < 3; i += 1) await v1.poll('node', undefined, never);

    const answered = v1.retrieve('client-a', 'a', never);
    await sleep(30);
    await v1.respond('client-a', 'a', { ciphertext: 'answer', cipherkey: 'k', iv: 'i' });
    const got = await answered;
    assert.equal(got.kind === 'response' && got.response.ciphertext, 'answer');

    const progressed = v1.retrieve('client-b', 'b', never);
    await sleep(30);
    await v1.progress('node', credential!, 'client-b', 'b', { ciphertext: 'p', cipherkey: 'k', iv: 'i' });
    const pending = await progressed;
    assert.equal(pending.kind === 'pending' && pending.progress?.ciphertext, 'p');

    const cancelled = v1.retrieve('client-c', 'c', never);
    await sleep(30);
    await v1.cancel('client-c', 'c', 'tok-c', 'cancelled', 'requester_cancelled');
    const err = await rejects(cancelled, 'request_gone');
    assert.deepEqual(err.extra, { code: 'cancelled', status: 'cancelled', reason: 'requester_cancelled' });
  });

  it('draining answers held polls at once and calls nodes back within a quarter second (memory store: queued work must go out before exit)', async () => {
    const { v1, drain } = domain({ pollWaitSeconds: 10, retrieveHoldMs: 10_000 });
    await v1.register('node', CAPS);
    await v1.admit(request());
    await v1.poll('node', undefined, never);
    const started = Date.now();
    const held = v1.poll('node', undefined, never);
    const waiting = v1.retrieve('client', 'r1', never);
    await sleep(30);
    drain.start();
    assert.deepEqual(await held, { work: null, nextPingSeconds: 0.25, pollWaitSeconds: 10 });
    assert.equal((await waiting).kind, 'pending');
    assert.ok(Date.now() - started < 2000);
  });
});

describe('V1Relay: outcomes are reported once per request', () => {
  it('completed, cancelled, expired and evicted each count once, with bounded reasons', async () => {
    const { v1, clock, events } = domain();
    const { credential } = await v1.register('node', { ...CAPS, max_concurrency: 4 });
    for (const id of ['done', 'cancel', 'late']) await v1.admit(request(id, 'node', `c-${id}`));
    for (let i = 0; i < 3; i += 1) await v1.poll('node', undefined, never);
    clock.advance(1500);
    await v1.respond('c-done', 'done', { ciphertext: 'x', cipherkey: 'k', iv: 'i' });
    await v1.respond('c-done', 'done', { ciphertext: 'x', cipherkey: 'k', iv: 'i' }); // duplicate
    await v1.cancel('c-cancel', 'cancel', 'tok-cancel', 'cancelled', 'client_timeout');
    await v1.cancel('c-cancel', 'cancel', 'tok-cancel', 'cancelled', 'client_timeout'); // idempotent
    assert.equal((await v1.control('node', 'cancel', credential, false)).status, 'cancelled');
    await v1.retrieve('c-done', 'done', never);
    assert.deepEqual(events.turnaround, [1500]);
    // The last one passes its deadline while in flight; the control poll keeps the node alive.
    for (let t = 0; t < 480; t += 20) {
      clock.advance(20_000);
      await v1.control('node', 'late', credential, false);
      await v1.register('node', { ...CAPS, max_concurrency: 4 });
    }
    await v1.sweep();
    await rejects(v1.respond('c-late', 'late', { ciphertext: 'x', cipherkey: 'k', iv: 'i' }), 'request_gone');
    await v1.admit(request('orphan', 'node', 'c-orphan'));
    clock.advance(31_000);
    await v1.sweep();
    await v1.sweep();
    assert.deepEqual(events.ended, [
      { outcome: 'completed', reason: 'completed' },
      { outcome: 'cancelled', reason: 'client_timeout' },
      { outcome: 'timed_out', reason: 'provider_timeout' },
      { outcome: 'cancelled', reason: 'server_unregistered' },
    ]);
    assert.deepEqual(events.evicted, ['stale_lease:1']);
    assert.ok(events.control.includes('active') && events.control.includes('cancelled') && events.control.includes('expired'));
  });
});

describe('capabilities, model ids and release metadata', () => {
  it('normalises capabilities and accepts the upstream alternative names', () => {
    const caps = normaliseCapabilities({
      model_ids: [' Qwen3-8B-Instruct ', 'qwen3-8b-instruct', 'Other'],
      context_tier: '64k-full',
      maximum_total_context_tokens: 65536,
      default_output_token_reservation: 1,
      maximum_output_tokens: 1,
      max_concurrency: 128,
      backend_class: 'TPU',
    });
    assert.deepEqual(caps, {
      supportedModelIds: ['qwen3-8b-instruct', 'other'],
      contextTier: '64k-full',
      maxContextTokens: 65536,
      defaultOutputReservation: 1,
      maxOutputTokens: 1,
      maxConcurrency: 128,
      backendClass: 'unknown',
    });
    assert.deepEqual(normaliseCapabilities(undefined).supportedModelIds, [], 'no capabilities: listed, never scheduled');
    for (const bad of [
      [],
      'x',
      { ...CAPS, max_concurrency: 129 },
      { ...CAPS, maximum_output_tokens: 1.5 },
      { ...CAPS, supported_model_ids: [''] },
      { ...CAPS, supported_model_ids: ['x'.repeat(129)] },
      { ...CAPS, active_context_tier: 8 },
    ]) {
      assert.throws(
        () => normaliseCapabilities(bad),
        (err: unknown) => err instanceof RelayError && err.code === 'invalid_capabilities',
        JSON.stringify(bad).slice(0, 60),
      );
    }
  });

  it('resolves catalogue aliases to the canonical model id', () => {
    assert.equal(resolveModelId(' LLaMA-3-8B-Instruct '), 'qwen3-8b-instruct');
    assert.equal(resolveModelId('gpt-5-chat-latest'), 'qwen3-8b-instruct');
    assert.equal(resolveModelId('something-else'), 'something-else');
  });

  it('release metadata comes from operator settings only, cleaned', () => {
    const base = { releaseVersion: null, deployEnvironment: null, gitSha: null, imageTag: null };
    assert.deepEqual(releaseMetadata(base, 'token.place'), { environment: 'prod', version: 'dev', label: 'prod dev' });
    assert.deepEqual(releaseMetadata({ ...base, deployEnvironment: 'Production', imageTag: 'v0.1.0' }, 'localhost'), {
      environment: 'prod',
      version: 'v0.1.0',
      label: 'prod v0.1.0',
    });
    assert.deepEqual(
      releaseMetadata({ ...base, imageTag: 'latest' }, undefined),
      { environment: 'dev', version: 'dev', label: 'dev dev' },
      'a mutable tag is no reference',
    );
    assert.deepEqual(releaseMetadata({ ...base, releaseVersion: '1.0 <b>' }, undefined).version, '1.0-b');
  });
});
