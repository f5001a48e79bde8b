// The public routes an operator expects (src/ops/routes.ts, src/protocols/v1/routes.ts): liveness,
// readiness, release metadata, and /metrics, which must not answer from outside.
import { describeFailure, refusalCode, type DoctorHttp, type HttpAnswer } from './http.js';
import { fail, ok, warn, type CheckResult } from './types.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

function statusLine(answer: HttpAnswer): string {
  const code = refusalCode(answer.json);
  return `HTTP ${answer.status}${code ? ` ${code}` : ''}`;
}

export async function checkLivez(http: DoctorHttp): Promise<CheckResult> {
  let answer: HttpAnswer;
  try {
    answer = await http.get('/livez');
  } catch (err) {
    return fail('livez', `GET /livez: ${describeFailure(err)}`, { unreachable: true });
  }
  const data = { status: answer.status, ms: round(answer.ms) };
  if (answer.status !== 200) return fail('livez', `GET /livez: ${statusLine(answer)}`, data);
  if (!isObject(answer.json) || answer.json.status !== 'alive') return fail('livez', 'GET /livez: 200 but not {"status":"alive"} (is this the relay?)', data);
  return ok('livez', `200 alive in ${Math.round(answer.ms)} ms`, data);
}

export async function checkHealthz(http: DoctorHttp): Promise<CheckResult> {
  let answer: HttpAnswer;
  try {
    answer = await http.get('/healthz');
  } catch (err) {
    return fail('healthz', `GET /healthz: ${describeFailure(err)}`);
  }
  const body = answer.json;
  const data: Record<string, unknown> = { status: answer.status, ms: round(answer.ms) };
  if (!isObject(body) || typeof body.status !== 'string') return fail('healthz', `GET /healthz: ${statusLine(answer)}, not the relay's readiness JSON`, data);
  const known = typeof body.knownServers === 'number' ? body.knownServers : null;
  const store = typeof body.store === 'string' ? body.store : 'unknown';
  Object.assign(data, { relay_status: body.status, store, known_servers: known });
  if (answer.status !== 200 || body.status !== 'ok') {
    const details = isObject(body.details)
      ? Object.entries(body.details)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ')
      : '';
    return fail('healthz', `HTTP ${answer.status} ${body.status}${details ? ` (${details})` : ''}`, data);
  }
  if (known === null) return fail('healthz', "200 ok but knownServers is missing (not this relay's /healthz?)", data);
  const line = `200 ok, store ${store}, ${known} compute node${known === 1 ? '' : 's'}`;
  if (known === 0) return warn('healthz', `${line}: clients get 503 until a node registers`, data);
  return ok('healthz', line, data);
}

/** Prometheus text exposition: `# HELP`/`# TYPE` lines or the 0.0.4 text content type. */
function looksLikePrometheus(answer: HttpAnswer): boolean {
  const type = String(answer.headers['content-type'] ?? '');
  return /version=0\.0\.4|openmetrics/i.test(type) || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /m.test(answer.text.slice(0, 65536));
}

export async function checkMetricsHidden(http: DoctorHttp): Promise<CheckResult> {
  let answer: HttpAnswer;
  try {
    answer = await http.get('/metrics');
  } catch (err) {
    // Not reachable is what we want, but a broken connection says nothing about routing.
    return warn('metrics', `GET /metrics did not answer (${describeFailure(err)}); cannot tell whether it is exposed`);
  }
  const data = { status: answer.status };
  if (answer.status >= 200 && answer.status < 300) {
    if (looksLikePrometheus(answer)) {
      return fail(
        'metrics',
        `exposed: GET /metrics answers ${answer.status} with Prometheus text; serve it on TOKENPLACE_METRICS_PORT or require TOKENPLACE_METRICS_TOKEN`,
        data,
      );
    }
    return ok('metrics', `not exposed: GET /metrics answers ${answer.status} but no Prometheus text`, data);
  }
  if (answer.status === 401 || answer.status === 403) return ok('metrics', `not public: GET /metrics refused (${statusLine(answer)})`, data);
  return ok('metrics', `not exposed: GET /metrics answers ${statusLine(answer)}`, data);
}

interface Meta {
  environment: string;
  version: string;
  label: string;
  ref?: string;
}

function asMeta(body: unknown): Meta | null {
  if (!isObject(body)) return null;
  const { environment, version, label, ref } = body;
  if (typeof environment !== 'string' || typeof version !== 'string' || typeof label !== 'string') return null;
  return { environment, version, label, ...(typeof ref === 'string' ? { ref } : {}) };
}

export async function checkRelease(http: DoctorHttp): Promise<CheckResult> {
  const routes = ['/api/v1/version', '/api/v1/meta'] as const;
  const found: Partial<Record<(typeof routes)[number], Meta>> = {};
  const problems: string[] = [];
  for (const route of routes) {
    try {
      const answer = await http.get(route);
      const meta = answer.status === 200 ? asMeta(answer.json) : null;
      if (meta !== null) found[route] = meta;
      else problems.push(`${route} ${answer.status === 200 ? 'answers 200 without {environment, version, label}' : `answers ${statusLine(answer)}`}`);
    } catch (err) {
      problems.push(`${route}: ${describeFailure(err)}`);
    }
  }
  const meta = found['/api/v1/version'] ?? found['/api/v1/meta'];
  if (meta === undefined) return warn('release', `no release metadata: ${problems.join('; ')}`);
  const data = { ...meta };
  const line = `${meta.label}${meta.ref ? ` (ref ${meta.ref})` : ''}`;
  if (problems.length > 0) return warn('release', `${line}; but ${problems.join('; ')}`, data);
  const other = found['/api/v1/meta']!;
  if (other.label !== meta.label || other.ref !== meta.ref) return warn('release', `/api/v1/version says ${line}, /api/v1/meta says ${other.label}`, data);
  if (meta.version === 'dev')
    return warn('release', `${line}: the build does not say which release it is (set TOKENPLACE_RELEASE_VERSION or TOKENPLACE_IMAGE_TAG)`, data);
  return ok('release', line, data);
}
