// `tokenplace-relay doctor` run as the built CLI against the real relay behind a TLS front on
// loopback, with certificates made here: the verdict of every check and the exit code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeCerts, rows, runDoctor, startRelay, startTlsFront, type Certs, type RelayWithNode, type TlsFront } from './tls-front.ts';

const ALL = ['dns', 'tls', 'livez', 'healthz', 'metrics', 'release', 'round trip', 'latency', 'probe cleanup'];

async function diagnostics(relayUrl: string): Promise<{ total: number; keys: string[] }> {
  const body = (await (await fetch(`${relayUrl}/relay/diagnostics`)).json()) as {
    total_api_v1_registered_compute_nodes: number;
    api_v1_registered_compute_nodes: { server_public_key: string }[];
  };
  return { total: body.total_api_v1_registered_compute_nodes, keys: body.api_v1_registered_compute_nodes.map((n) => n.server_public_key) };
}

describe('doctor against a relay behind a TLS front', () => {
  let certs: Certs;
  let relay: RelayWithNode;
  let front: TlsFront;
  before(async () => {
    certs = makeCerts();
    relay = await startRelay();
    front = await startTlsFront(certs, () => relay.relay.url);
  });
  after(async () => {
    await front?.close();
    await relay?.stop();
    certs?.remove();
  });

  it('all checks ok with --ca: exit 0, and the probe node is gone afterwards', async (t) => {
    const run = await runDoctor([front.url, '--ca', certs.caFile]);
    t.diagnostic(`\n${run.stdout}`);
    const r = rows(run.stdout);
    assert.deepEqual(Object.keys(r), ALL);
    for (const check of ALL) assert.equal(r[check]![0], 'OK', `${check}: ${r[check]![1]}`);
    assert.match(r.dns![1], /^localhost → 127\.0\.0\.1/);
    assert.match(r.tls![1], /^TLSv1\.[23], issuer CN=tokenplace doctor test CA, O=tokenplace-relay tests, expires \d{4}-\d\d-\d\d \((89|90) days\)$/);
    assert.match(r.healthz![1], /^200 ok, store memory, 1 compute node$/);
    assert.match(r.metrics![1], /^not exposed: GET \/metrics answers HTTP 404/);
    assert.equal(r.release![1], 'staging 1.4.2');
    assert.match(r['round trip']![1], /^encrypted request answered in \d+ ms through probe node [0-9a-f]{12} \(model tokenplace-doctor-probe-[0-9a-f]{16}\)$/);
    assert.match(r.latency![1], /^relay adds \d+ ms \(round trip \d+ ms − crypto \d+ ms − 3 × GET \/livez [\d.]+ ms\)/);
    assert.match(r['probe cleanup']![1], /^probe node unregistered \(removed: true\)/);
    assert.match(run.stdout, /verdict: OK \(9 ok\), exit 0\n/);
    // Aligned: every row's verdict and detail start where the header's do.
    const lines = run.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('CHECK'))!;
    for (const line of lines.slice(lines.indexOf(header) + 1, lines.indexOf(header) + 1 + ALL.length)) {
      assert.equal(line.indexOf(' OK ') + 1, header.indexOf('VERDICT'), line);
      assert.notEqual(line[header.indexOf('DETAIL')], ' ', line);
      assert.equal(line[header.indexOf('DETAIL') - 1], ' ', line);
    }
    assert.equal(run.code, 0);
    // Only the demo node is left registered: the probe unregistered itself.
    const d = await diagnostics(relay.relay.url);
    assert.equal(d.total, 1);
    assert.deepEqual(d.keys, [relay.node!.publicKey]);
  });

  it('--json gives the same verdicts to a script', async () => {
    const run = await runDoctor([front.url, '--ca', certs.caFile, '--json']);
    assert.equal(run.code, 0);
    const out = JSON.parse(run.stdout) as {
      url: string;
      verdict: string;
      exit_code: number;
      checks: { check: string; verdict: string; data?: Record<string, unknown> }[];
    };
    assert.equal(out.url, front.url);
    assert.equal(out.verdict, 'ok');
    assert.equal(out.exit_code, 0);
    assert.deepEqual(
      out.checks.map((c) => c.check),
      ALL,
    );
    const latency = out.checks.find((c) => c.check === 'latency')!.data!;
    assert.equal(typeof latency.added_ms, 'number');
    assert.ok((latency.roundTripMs as number) >= (latency.added_ms as number));
  });

  it('an untrusted certificate without --ca fails TLS and checks nothing over it', async () => {
    const run = await runDoctor([front.url]);
    const r = rows(run.stdout);
    assert.equal(r.dns![0], 'OK');
    assert.equal(r.tls![0], 'FAIL');
    assert.match(
      r.tls![1],
      /^not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE \(issuer CN=tokenplace doctor test CA, O=tokenplace-relay tests, expires .*\); a private CA needs --ca FILE$/,
    );
    for (const check of ALL.slice(2)) assert.deepEqual(r[check], ['SKIP', 'not checked: TLS failed']);
    assert.equal(run.code, 2);
    assert.equal((await diagnostics(relay.relay.url)).total, 1, 'no probe node was registered');
  });

  it('a host name the certificate does not name fails TLS', async () => {
    const run = await runDoctor([front.url.replace('localhost', '127.0.0.2'), '--ca', certs.caFile]);
    const r = rows(run.stdout);
    // 127.0.0.2 is loopback too on Linux but is not in the certificate's names.
    assert.equal(r.dns![0], 'SKIP');
    assert.equal(r.tls![0], 'FAIL', r.tls![1]);
    assert.match(r.tls![1], /ERR_TLS_CERT_ALTNAME_INVALID|ECONNREFUSED/);
    assert.equal(run.code, 2);
  });
});

describe('doctor: /metrics behind the public URL', () => {
  it('a front that forwards /metrics to the metrics listener fails the metrics check', async (t) => {
    const certs = makeCerts();
    const relay = await startRelay();
    const front = await startTlsFront(certs, () => relay.relay.url, relay.relay.metricsUrl!);
    t.after(async () => {
      await front.close();
      await relay.stop();
      certs.remove();
    });
    const run = await runDoctor([front.url, '--ca', certs.caFile]);
    const r = rows(run.stdout);
    assert.equal(r.metrics![0], 'FAIL');
    assert.match(r.metrics![1], /^exposed: GET \/metrics answers 200 with Prometheus text/);
    for (const check of ALL.filter((c) => c !== 'metrics')) assert.equal(r[check]![0], 'OK', `${check}: ${r[check]![1]}`);
    assert.match(run.stdout, /verdict: FAIL \(8 ok, 1 fail\), exit 2/);
    assert.equal(run.code, 2);
  });
});

describe('doctor: a relay that requires a node token', () => {
  const TOKEN = 'doctor-test-node-token';
  let certs: Certs;
  let relay: RelayWithNode;
  let front: TlsFront;
  before(async () => {
    certs = makeCerts();
    relay = await startRelay({}, { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN });
    front = await startTlsFront(certs, () => relay.relay.url);
  });
  after(async () => {
    await front?.close();
    await relay?.stop();
    certs?.remove();
  });

  it('without a token the round trip is not checked: warn, exit 1', async () => {
    const run = await runDoctor([front.url, '--ca', certs.caFile]);
    const r = rows(run.stdout);
    assert.deepEqual(r['round trip'], ['WARN', 'not checked: the relay requires a node token (401); pass --token or set TOKEN_PLACE_RELAY_SERVER_TOKEN']);
    assert.deepEqual(r.latency, ['SKIP', 'no round trip to measure']);
    assert.deepEqual(r['probe cleanup'], ['OK', 'no probe node was registered']);
    assert.equal(run.code, 1);
  });

  it('with --token (or the environment variable) the round trip passes: exit 0', async () => {
    let run = await runDoctor([front.url, '--ca', certs.caFile, '--token', TOKEN]);
    assert.equal(rows(run.stdout)['round trip']![0], 'OK', run.stdout);
    assert.equal(run.code, 0, run.stdout);
    run = await runDoctor([front.url, '--ca', certs.caFile], { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN });
    assert.equal(run.code, 0, run.stdout);
    assert.equal((await diagnostics(relay.relay.url)).total, 1, 'both probe nodes unregistered');
  });

  it('a wrong token fails the round trip: exit 2', async () => {
    const run = await runDoctor([front.url, '--ca', certs.caFile, '--token', 'not-the-token']);
    assert.deepEqual(rows(run.stdout)['round trip'], ['FAIL', 'the relay refused the node token given with --token (401 invalid_server_token)']);
    assert.equal(run.code, 2);
  });
});

describe('doctor: certificates near or past expiry', () => {
  for (const [label, opts, verdict, detail, code] of [
    ['expiring in 5 days warns', { days: 5 }, 'WARN', /expires \d{4}-\d\d-\d\d \([45] days\): under 14 days, renewal is overdue$/, 1],
    ['expired fails', { days: -2, notBeforeDaysAgo: 30 }, 'FAIL', /^not trusted: CERT_HAS_EXPIRED/, 2],
  ] as const) {
    it(label, async (t) => {
      const certs = makeCerts(opts);
      const relay = await startRelay();
      const front = await startTlsFront(certs, () => relay.relay.url);
      t.after(async () => {
        await front.close();
        await relay.stop();
        certs.remove();
      });
      const run = await runDoctor([front.url, '--ca', certs.caFile]);
      const r = rows(run.stdout);
      assert.equal(r.tls![0], verdict);
      assert.match(r.tls![1], detail);
      assert.equal(run.code, code);
    });
  }
});

describe('doctor: the relay is down', () => {
  it('front up, relay gone: livez, healthz and the round trip fail (exit 2)', async (t) => {
    const certs = makeCerts();
    const relay = await startRelay({}, {}, false);
    const url = relay.relay.url;
    const front = await startTlsFront(certs, () => url);
    t.after(async () => {
      await front.close();
      certs.remove();
    });
    await relay.stop();
    const run = await runDoctor([front.url, '--ca', certs.caFile, '--timeout', '3']);
    const r = rows(run.stdout);
    assert.equal(r.tls![0], 'OK');
    assert.deepEqual(r.livez, ['FAIL', 'GET /livez: HTTP 502']);
    assert.equal(r.healthz![0], 'FAIL');
    assert.equal(r['round trip']![0], 'FAIL');
    assert.match(r['round trip']![1], /^registering the probe node: \/api\/v1\/relay\/servers\/register answered HTTP 502$/);
    assert.equal(run.code, 2);
  });

  it('nothing listening: TLS fails with the connection error (exit 2)', async (t) => {
    const certs = makeCerts();
    const front = await startTlsFront(certs, () => 'http://127.0.0.1:9');
    const { url } = front;
    await front.close();
    t.after(() => certs.remove());
    const run = await runDoctor([url, '--ca', certs.caFile]);
    const r = rows(run.stdout);
    assert.deepEqual(r.tls, ['FAIL', 'handshake failed (ECONNREFUSED)']);
    assert.equal(run.code, 2);
  });
});

describe('doctor: command line', () => {
  it('--help prints the usage and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await runDoctor([flag]);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^Usage: tokenplace-relay doctor URL \[--ca FILE\] \[--token TOKEN\] \[--timeout SECONDS\] \[--json\]/);
      assert.match(run.stdout, /Exit code: 0 every check ok or skipped, 1 a warning and no\nfailure, 2 a failure, 64 bad arguments\./);
      assert.equal(run.stderr, '');
    }
  });

  it('bad arguments exit 64 with the reason and the usage', async () => {
    for (const [args, reason] of [
      [[], 'the relay URL is missing'],
      [['ftp://example.org'], 'the URL must be https:// or http://, got ftp:'],
      [['https://example.org', '--timeout', 'soon'], '--timeout must be seconds between 0 and 600, got soon'],
      [['https://example.org', '--ca', '/nonexistent/ca.pem'], '--ca /nonexistent/ca.pem: ENOENT'],
      [['https://example.org', '--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      const run = await runDoctor([...args]);
      assert.equal(run.code, 64, `${args.join(' ')}: ${run.stderr}`);
      assert.ok(run.stderr.includes(reason), `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /Usage: tokenplace-relay doctor URL/);
      assert.equal(run.stdout, '');
    }
  });

  it('a plain http:// relay warns about TLS and an IP literal skips DNS', async (t) => {
    const relay = await startRelay();
    t.after(() => relay.stop());
    const run = await runDoctor([relay.relay.url]);
    const r = rows(run.stdout);
    assert.deepEqual(r.dns, ['SKIP', '127.0.0.1 is an IP address (nothing to resolve)']);
    assert.deepEqual(r.tls, ['WARN', 'no TLS (http:// URL): node tokens and ciphertext travel in clear']);
    assert.equal(r['round trip']![0], 'OK');
    assert.equal(run.code, 1);
  });
});
