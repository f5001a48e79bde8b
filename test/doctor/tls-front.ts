// Test pieces for the doctor: certificates made in the test (a private CA and a leaf for
// localhost, with chosen validity), a TLS front on loopback that forwards to a relay (as the
// ingress does), the real relay with a demo node behind it, and the built CLI run as a process.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import pino from 'pino';
import { configWith, type Config } from '../../src/config.js';
import { startDemoNode, type DemoNode } from '../../src/node/demo-node.js';
import { startServer, type RunningRelay } from '../../src/server.js';
import { ensureBuilt, repoRoot } from '../node/harness.js';

const DAY_MS = 86_400_000;

function forgeKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // Node makes the RSA key (fast); forge only signs the certificates.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem: privateKey };
}

export interface Certs {
  dir: string;
  caFile: string;
  caPem: string;
  keyPem: string;
  certPem: string;
  remove(): void;
}

/** A CA (written to caFile) and a localhost leaf it signed, valid from notBefore for `days`. */
export function makeCerts(opts: { days?: number; notBeforeDaysAgo?: number } = {}): Certs {
  const ca = forgeKeys();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = '01';
  caCert.validity.notBefore = new Date(Date.now() - 400 * DAY_MS);
  caCert.validity.notAfter = new Date(Date.now() + 400 * DAY_MS);
  const caName = [
    { name: 'commonName', value: 'tokenplace doctor test CA' },
    { name: 'organizationName', value: 'tokenplace-relay tests' },
  ];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const leaf = forgeKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.publicKey;
  cert.serialNumber = '02';
  const start = Date.now() - (opts.notBeforeDaysAgo ?? 1) * DAY_MS;
  cert.validity.notBefore = new Date(start);
  cert.validity.notAfter = new Date(start + ((opts.days ?? 90) + (opts.notBeforeDaysAgo ?? 1)) * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());

  const dir = mkdtempSync(join(tmpdir(), 'tokenplace-doctor-'));
  const caPem = forge.pki.certificateToPem(caCert);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem);
  return { dir, caFile, caPem, keyPem: leaf.pem, certPem: forge.pki.certificateToPem(cert), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TlsFront {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * HTTPS on 127.0.0.1 forwarding every request to `upstream` (the relay's own listener). /metrics
 * goes to `metricsUpstream` when given (a front that wrongly exposes the metrics listener), else
 * to the relay like any path.
 */
export async function startTlsFront(certs: Certs, upstream: () => string, metricsUpstream?: string): Promise<TlsFront> {
  const server = https.createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
    const base = req.url === '/metrics' && metricsUpstream !== undefined ? metricsUpstream : upstream();
    const target = new URL(req.url ?? '/', base);
    const out = http.request(target, { method: req.method, headers: { ...req.headers, host: req.headers.host ?? target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `https://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RelayWithNode {
  relay: RunningRelay;
  node: DemoNode | null;
  stop(): Promise<void>;
}

/** The real relay on loopback (metrics on their own listener, as the chart runs it) and a demo node. */
export async function startRelay(overrides: Partial<Config> = {}, env: Record<string, string> = {}, withNode = true): Promise<RelayWithNode> {
  const config = configWith(
    {
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      logLevel: 'silent',
      releaseVersion: '1.4.2',
      deployEnvironment: 'staging',
      drainSeconds: 1,
      drainLingerMs: 0,
      ...overrides,
    },
    env,
  );
  const relay = await startServer({ config, logger: pino({ level: 'silent' }) });
  const node = withNode ? await startDemoNode({ relayUrl: relay.url, protocol: 'v1', token: config.serverTokens[0], logger: pino({ level: 'silent' }) }) : null;
  await node?.ready;
  let stopped = false;
  return {
    relay,
    node,
    async stop() {
      if (stopped) return;
      stopped = true;
      await node?.stop();
      await relay.shutdown('test');
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/src/cli.js doctor ...` as a child process (the relay keeps serving in this one). */
export function runDoctor(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  ensureBuilt();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('TOKEN_PLACE_RELAY_SERVER_TOKEN' in env)) delete childEnv.TOKEN_PLACE_RELAY_SERVER_TOKEN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist', 'src', 'cli.js'), 'doctor', ...args],
      { cwd: repoRoot, env: childEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The table's rows as {check: [VERDICT, detail]}. */
export function rows(table: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  const lines = table.split('\n');
  const start = lines.findIndex((l) => l.startsWith('CHECK'));
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const m = /^(.+?)\s{2,}(OK|WARN|FAIL|SKIP)\s{2,}(.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = [m[2]!, m[3]!];
  }
  return out;
}
