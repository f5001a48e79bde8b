// A script called by SHA1 runs on a Redis that has never seen it or has just forgotten it
// (SCRIPT FLUSH, as after a restart or on a promoted replica), and what the script itself
// raises reaches the caller unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { LuaScript } from '../../../src/store/redis/lua-script.js';
import { startRedis } from '../../support/redis-server.js';

test('LuaScript: EVALSHA, then EVAL after NOSCRIPT; the script runs once per call', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const client = new Redis(redis.url);
  t.after(() => client.disconnect());
  const counter = new LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  // Never loaded: the first call is a NOSCRIPT and its EVAL (which loads it).
  assert.equal(await counter.run(client, 1, 'lua-script:n', 2), 2);
  assert.deepEqual(await client.script('EXISTS', counter.sha), [1]);
  assert.equal(await counter.run(client, 1, 'lua-script:n', 3), 5);
  await client.script('FLUSH');
  assert.deepEqual(await client.script('EXISTS', counter.sha), [0]);
  // Forgotten: answered all the same, and counted once, not twice.
  assert.equal(await counter.run(client, 1, 'lua-script:n', 4), 9);
  assert.equal(await client.get('lua-script:n'), '9');
});

test('LuaScript: an error the script raises is not retried as EVAL', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const client = new Redis(redis.url);
  t.after(() => client.disconnect());
  const failing = new LuaScript("redis.call('INCR', KEYS[1]) return redis.error_reply('REFUSED by the script')");
  await assert.rejects(failing.run(client, 1, 'lua-script:e'), /REFUSED by the script/);
  await assert.rejects(failing.run(client, 1, 'lua-script:e'), /REFUSED by the script/);
  // Two calls, two runs: the first (an EVAL after NOSCRIPT) and one EVALSHA.
  assert.equal(await client.get('lua-script:e'), '2');
});
