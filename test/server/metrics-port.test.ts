// TOKENPLACE_METRICS_PORT: /metrics moves to its own listener (the chart's `metrics` Service port,
// never routed by the Ingress); the relay port then answers 404 for /metrics. The bearer token
// option applies on the metrics listener.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, configWith, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startServer } from '../../src/server.js';

describe('metrics on a separate port', () => {
  it('serves /metrics only on the metrics listener; the relay port answers 404 with the catalogue code', async () => {
    const relay = await startServer({
      config: configWith({ port: 0, metricsPort: 0, metricsToken: 'scrape-secret', logLevel: 'silent' }),
      logger: createLogger('silent'),
    });
    try {
      assert.ok(relay.metricsUrl !== null && relay.metricsUrl !== relay.url);
      const main = await fetch(`${relay.url}/metrics`);
      assert.equal(main.status, 404);
      assert.equal(((await main.json()) as { code: string }).code, 'route_not_found');
      assert.equal((await fetch(`${relay.url}/healthz`)).status, 200);

      const denied = await fetch(`${relay.metricsUrl}/metrics`);
      assert.equal(denied.status, 401);
      assert.equal(((await denied.json()) as { code: string }).code, 'metrics_unauthorized');
      const scraped = await fetch(`${relay.metricsUrl}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
      assert.equal(scraped.status, 200);
      assert.match(await scraped.text(), /^# (HELP|TYPE) /m);
      // Only /metrics lives there: the relay's routes are not reachable through the metrics port.
      assert.equal((await fetch(`${relay.metricsUrl}/healthz`)).status, 404);
    } finally {
      await relay.shutdown('test');
    }
  });

  it('without TOKENPLACE_METRICS_PORT, /metrics stays on the relay port', async () => {
    const relay = await startServer({ config: configWith({ port: 0, logLevel: 'silent' }), logger: createLogger('silent') });
    try {
      assert.equal(relay.metricsUrl, null);
      assert.equal((await fetch(`${relay.url}/metrics`)).status, 200);
    } finally {
      await relay.shutdown('test');
    }
  });

  it('refuses a metrics port equal to the relay port, naming the variable', () => {
    assert.throws(
      () => loadConfig({ RELAY_PORT: '5010', TOKENPLACE_METRICS_PORT: '5010' }),
      (err: unknown) => err instanceof ConfigError && /TOKENPLACE_METRICS_PORT/.test(String(err)),
    );
    assert.throws(() => loadConfig({ TOKENPLACE_METRICS_PORT: 'x' }), /TOKENPLACE_METRICS_PORT/);
    assert.equal(loadConfig({ TOKENPLACE_METRICS_PORT: '9090' }).metricsPort, 9090);
  });
});
