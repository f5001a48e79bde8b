import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, configWith, loadConfig } from '../src/config.js';

function fails(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.startsWith(`${variable}:`),
  );
}

describe('config', () => {
  it('has working defaults and is frozen', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 5010);
    assert.equal(config.store, 'memory');
    assert.equal(config.upstreamUrl, 'http://gpu-server:3000');
    assert.ok(Object.isFrozen(config));
    assert.ok(config.sinkHoldMs > 0 && config.sinkHoldMs < 10_000, 'below the node 10 s timeout');
  });

  it('GPU host precedence follows relay.py (§B.1)', () => {
    assert.deepEqual(pick(loadConfig({ TOKENPLACE_RELAY_UPSTREAM_URL: 'http://a:1' })), ['http://a:1', 'a', 1]);
    assert.deepEqual(pick(loadConfig({ TOKENPLACE_RELAY_UPSTREAM_URL: 'http://a:1', GPU_SERVER_HOST: 'b' })), ['http://a:1', 'b', 1]);
    assert.deepEqual(pick(loadConfig({ TOKENPLACE_GPU_HOST: 'c', GPU_SERVER_HOST: 'b', GPU_SERVER_PORT: '7' })), ['http://c:7', 'c', 7]);
    assert.deepEqual(pick(loadConfig({ TOKENPLACE_GPU_PORT: '9', GPU_SERVER_PORT: '7' })), ['http://gpu-server:9', 'gpu-server', 9]);
  });

  it('flags override the environment', () => {
    const config = loadConfig({ RELAY_HOST: '0.0.0.0', RELAY_PORT: '8000' }, { host: '::1', port: '9000' });
    assert.equal(config.host, '::1');
    assert.equal(config.port, 9000);
  });

  it('a bad value names its variable', () => {
    fails({ RELAY_PORT: 'http' }, 'RELAY_PORT');
    fails({ RELAY_PORT: '70000' }, 'RELAY_PORT');
    fails({ TOKENPLACE_GPU_PORT: 'x' }, 'TOKENPLACE_GPU_PORT');
    fails({ TOKENPLACE_RELAY_UPSTREAM_URL: 'not a url' }, 'TOKENPLACE_RELAY_UPSTREAM_URL');
    fails({ TOKENPLACE_RELAY_SINK_HOLD_MS: '20000' }, 'TOKENPLACE_RELAY_SINK_HOLD_MS');
    fails({ TOKENPLACE_RELAY_REQUEST_TTL_SECONDS: '1.5' }, 'TOKENPLACE_RELAY_REQUEST_TTL_SECONDS');
    fails({ TOKENPLACE_ENABLE_LEGACY_RELAY_ROUTES: 'maybe' }, 'TOKENPLACE_ENABLE_LEGACY_RELAY_ROUTES');
    fails({ TOKENPLACE_LOG_LEVEL: 'loud' }, 'TOKENPLACE_LOG_LEVEL');
    fails({ TOKENPLACE_RELAY_STORE: 'postgres' }, 'TOKENPLACE_RELAY_STORE');
    fails({ TOKENPLACE_RELAY_STORE: 'redis' }, 'TOKENPLACE_REDIS_URL');
    fails({ TOKENPLACE_RELAY_STORE: 'redis', TOKENPLACE_REDIS_URL: 'http://x' }, 'TOKENPLACE_REDIS_URL');
    fails({ TOKEN_PLACE_RELAY_SERVER_TOKEN: 'has space' }, 'TOKEN_PLACE_RELAY_SERVER_TOKEN');
    fails({ TOKENPLACE_TRUSTED_PROXIES: '10.0.0.0/40' }, 'TOKENPLACE_TRUSTED_PROXIES');
  });

  it('parses trusted proxy CIDRs', () => {
    assert.deepEqual(loadConfig({ TOKENPLACE_TRUSTED_PROXIES: '10.42.0.0/16, 127.0.0.1,::1' }).trustedProxies, ['10.42.0.0/16', '127.0.0.1/32', '::1/128']);
  });
});

function pick(c: ReturnType<typeof loadConfig>): [string, string, number] {
  return [c.upstreamUrl, c.gpuHost, c.gpuPort];
}

describe('configWith holds code-set values to the same bounds as the environment', () => {
  it('refuses an out-of-range or fractional setting, naming its variable', () => {
    assert.throws(
      () => configWith({ maxNodes: 0 }),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('TOKENPLACE_RELAY_MAX_NODES: maxNodes must be between 1'),
    );
    assert.throws(
      () => configWith({ v1LeaseSeconds: 1.5 }),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('TOKEN_PLACE_API_V1_RELAY_SERVER_LEASE_SECONDS'),
    );
    assert.throws(
      () => configWith({ store: 'redis' }),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('TOKENPLACE_REDIS_URL'),
    );
  });
  it('keeps in-range overrides and the defaults', () => {
    const config = configWith({ maxNodes: 7 });
    assert.equal(config.maxNodes, 7);
    assert.equal(config.v1LeaseSeconds, 30);
    assert.ok(Object.isFrozen(config));
  });
});
