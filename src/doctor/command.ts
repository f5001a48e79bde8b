// `tokenplace-relay doctor URL`: checks a live deployment end to end and prints one verdict per
// check (src/doctor/table.ts says what the exit codes mean).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkHealthz, checkLivez, checkMetricsHidden, checkRelease } from './http-checks.js';
import { DoctorHttp, trustedCAs } from './http.js';
import { checkDns, checkTls } from './net-checks.js';
import { probeKeys, runProbe, type ProbeTimings } from './probe.js';
import { EXIT, exitCode, renderJson, renderTable } from './table.js';
import { fail, ok, skip, warn, type CheckResult } from './types.js';

export const DOCTOR_USAGE = `Usage: tokenplace-relay doctor URL [--ca FILE] [--token TOKEN] [--timeout SECONDS] [--json]

Checks a running relay from the outside, e.g. tokenplace-relay doctor https://staging.token.place:
DNS, the TLS chain and days to expiry, GET /livez and /healthz, that /metrics is not public,
release metadata (/api/v1/version, /api/v1/meta), and an encrypted round trip through a private
probe node it registers for a random model id no client asks for (unregistered at the end), with
the latency the relay adds.

  --ca FILE          extra CA certificate (PEM) to trust, e.g. for a self-signed relay
  --token TOKEN      relay server token for the probe node, if the relay requires one
                     (env TOKEN_PLACE_RELAY_SERVER_TOKEN)
  --timeout SECONDS  per request, and for the whole round trip (default 10)
  --json             print the verdicts as JSON instead of a table
  -h, --help         show this help

Verdicts: ok, warn, fail, skip. Exit code: 0 every check ok or skipped, 1 a warning and no
failure, 2 a failure, 64 bad arguments.`;

/** The relay adds more than this to a round trip: warn (a relay that holds polls adds a few ms). */
export const ADDED_LATENCY_WARN_MS = 1000;
/** Network crossings a held poll and a held retrieve leave on the round trip's path, in RTTs. */
const EXCHANGES_ON_PATH = 3;
/** Requests of the round trip in flight at once (held poll, held retrieve, submit or answer). */
const WARM_CONNECTIONS = 4;

interface DoctorArgs {
  url: URL;
  ca: string | null;
  token?: string;
  timeoutMs: number;
  json: boolean;
}

class UsageError extends Error {}

export function parseDoctorArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DoctorArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: 'string' },
        token: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'the relay URL is missing' : `one URL only, got ${positionals.length}`);
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new UsageError(`not a URL: ${positionals[0]}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`the URL must be https:// or http://, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new UsageError('the URL must not carry credentials');
  url.search = '';
  url.hash = '';
  let timeoutMs = 10_000;
  if (values.timeout !== undefined) {
    const s = Number(values.timeout);
    if (!Number.isFinite(s) || s <= 0 || s > 600) throw new UsageError(`--timeout must be seconds between 0 and 600, got ${values.timeout}`);
    timeoutMs = Math.round(s * 1000);
  }
  let ca: string | null = null;
  if (values.ca !== undefined) {
    try {
      ca = readFileSync(values.ca, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca ${values.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca ${values.ca} holds no PEM certificate`);
  }
  const token = (values.token ?? env.TOKEN_PLACE_RELAY_SERVER_TOKEN)?.trim();
  return { url, ca, token: token === '' ? undefined : token, timeoutMs, json: values.json };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median GET /livez on the warm connection: the cost of one plain exchange with the relay. */
async function baselineMs(http: DoctorHttp): Promise<number | null> {
  // The round trip holds a poll and a retrieve open while it submits and answers: open that
  // many connections now, so that no TLS handshake lands inside the timed round trip.
  await Promise.allSettled(Array.from({ length: WARM_CONNECTIONS }, () => http.get('/livez')));
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      const a = await http.get('/livez');
      if (a.status === 200) times.push(a.ms);
    } catch {
      // counted as missing
    }
  }
  return times.length === 0 ? null : median(times);
}

function latencyCheck(timings: ProbeTimings | null, base: number | null): CheckResult {
  if (timings === null) return skip('latency', 'no round trip to measure');
  if (base === null) return skip('latency', 'no GET /livez time to compare with');
  // What the relay adds: the round trip without the doctor's own crypto and without the three
  // network crossings (submit, the answer, the held poll + held retrieve halves).
  const added = Math.max(0, timings.roundTripMs - timings.cryptoMs - EXCHANGES_ON_PATH * base);
  const r = (n: number): number => Math.round(n);
  const line = `relay adds ${r(added)} ms (round trip ${r(timings.roundTripMs)} ms − crypto ${r(timings.cryptoMs)} ms − ${EXCHANGES_ON_PATH} × GET /livez ${base.toFixed(1)} ms); pickup ${r(timings.pickupMs)} ms, delivery ${r(timings.deliveryMs)} ms`;
  const data = { added_ms: Math.round(added * 10) / 10, livez_ms: Math.round(base * 10) / 10, ...timings };
  return added > ADDED_LATENCY_WARN_MS ? warn('latency', `${line}: over ${ADDED_LATENCY_WARN_MS} ms`, data) : ok('latency', line, data);
}

const HTTP_CHECKS = ['livez', 'healthz', 'metrics', 'release', 'round trip', 'latency', 'probe cleanup'];

export async function runDoctor(args: DoctorArgs): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  // RSA key generation runs while the other checks wait on the network.
  const keys = probeKeys();
  keys.catch(() => {}); // awaited (and reported) by the probe; unused when an early check fails
  const dns = await checkDns(args.url);
  results.push(dns);
  if (dns.verdict === 'fail')
    return [...results, skip('tls', 'not checked: the name does not resolve'), ...HTTP_CHECKS.map((c) => skip(c, 'not checked: the name does not resolve'))];
  const ca = trustedCAs(args.ca);
  const tlsResult = await checkTls(args.url, { ca, timeoutMs: args.timeoutMs });
  results.push(tlsResult);
  // Past a failed TLS check every request would fail the same way, and sending the node token
  // over an unverified connection is what the check exists to prevent.
  if (tlsResult.verdict === 'fail') return [...results, ...HTTP_CHECKS.map((c) => skip(c, 'not checked: TLS failed'))];
  const http = new DoctorHttp(args.url, { ca, timeoutMs: args.timeoutMs });
  try {
    const livez = await checkLivez(http);
    results.push(livez);
    // No HTTP answer at all: every further request would only repeat the connection error.
    if (livez.data?.unreachable === true) return [...results, ...HTTP_CHECKS.slice(1).map((c) => skip(c, 'not checked: the relay does not answer'))];
    results.push(await checkHealthz(http));
    results.push(await checkMetricsHidden(http));
    results.push(await checkRelease(http));
    await keys;
    const base = await baselineMs(http);
    const probe = await runProbe({ http, token: args.token, timeoutMs: args.timeoutMs, keys });
    results.push(probe.roundTrip, latencyCheck(probe.timings, base), probe.cleanup);
  } finally {
    http.close();
  }
  return results;
}

export async function runDoctorCommand(argv: string[]): Promise<number> {
  let args: DoctorArgs | 'help';
  try {
    args = parseDoctorArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`tokenplace-relay doctor: ${err.message}\n\n${DOCTOR_USAGE}\n`);
    return EXIT.usage;
  }
  if (args === 'help') {
    process.stdout.write(`${DOCTOR_USAGE}\n`);
    return EXIT.ok;
  }
  let results: CheckResult[];
  try {
    results = await runDoctor(args);
  } catch (err) {
    results = [fail('doctor', `stopped by an unexpected error: ${(err as Error).message}`)];
  }
  const target = args.url.href.replace(/\/$/, '');
  process.stdout.write(args.json ? renderJson(target, results) : renderTable(target, results));
  return exitCode(results);
}
