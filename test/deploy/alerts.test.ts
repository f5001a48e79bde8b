// The chart's operator view: the Grafana dashboard ConfigMap (dashboards/relay.json) and the
// PrometheusRule (alerts/relay-rules.yaml), rendered by the real helm. The rendered rule groups go
// through the real promtool (`check rules`, and `test rules` with test/deploy/alerts/relay-rules.test.yaml),
// and every metric and label that the dashboard and the alerts query is checked against the
// metrics a relay started here really exports.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse, stringify } from 'yaml';
import { configWith } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startServer, type RunningRelay } from '../../src/server.js';
import { requireTool } from '../support/tools.ts';
import {
  KUBECTL_VALIDATE_HINT,
  KUBE_VERSION,
  chartDir,
  devValues,
  helmTemplate,
  needHelm,
  parseObjects,
  repoRoot,
  run,
  stagingValues,
  tempDir,
  writeTemp,
  type K8sObject,
} from './helpers.ts';

export const PROMTOOL_HINT = 'go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0';
const UNIT_TESTS = join(repoRoot, 'test', 'deploy', 'alerts', 'relay-rules.test.yaml');
const DASHBOARD_FILE = join(chartDir, 'dashboards', 'relay.json');
const RUNBOOK = join(repoRoot, 'docs', 'apps', 'tokenplace-relay.md');
const monitoringValues = join(repoRoot, 'docs', 'examples', 'tokenplace-relay.values.monitoring.yaml');
const BOTH_ON = ['--set', 'grafanaDashboard.enabled=true', '--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.force=true'];

/** The one metric queried here that src/ does not export yet: the build gauge added with the operator page. */
const ADDED_ELSEWHERE: Record<string, string[]> = { tokenplace_build_info: ['version', 'revision'] };
/** Labels that Prometheus adds to every series of a target scraped through the ServiceMonitor. */
const TARGET_LABELS = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'container', 'endpoint']);
const ALERTS = [
  'TokenplaceRelayNoLiveNode',
  'TokenplaceRelayQueueAgeHigh',
  'TokenplaceRelayServerErrors',
  'TokenplaceRelayUnavailable',
  'TokenplaceRelayStoreDown',
  'TokenplaceRelayRateLimitStorm',
  'TokenplaceRelayAbsent',
];

function renderOk(args: string[]): K8sObject[] {
  const r = helmTemplate(args);
  assert.equal(r.status, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseObjects(r.stdout);
}

function kinds(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function ruleGroups(args: string[] = []): { groups: { name: string; rules: Rule[] }[] } {
  const [rule, ...rest] = kinds(renderOk([...BOTH_ON, ...args]), 'PrometheusRule');
  assert.ok(rule && rest.length === 0, 'exactly one PrometheusRule');
  return { groups: rule.spec.groups };
}

/** The rendered groups beside a copy of the unit tests, as promtool reads them. */
function promtoolDir(args: string[] = []): string {
  const dir = tempDir('tp-promtool-');
  writeFileSync(join(dir, 'relay-rules.rendered.yaml'), stringify(ruleGroups(args)));
  copyFileSync(UNIT_TESTS, join(dir, 'relay-rules.test.yaml'));
  return dir;
}

// ---- PromQL names: metrics and labels an expression refers to ----

interface Refs {
  metrics: Set<string>;
  selectorLabels: Map<string, Set<string>>;
  groupLabels: Set<string>;
  madeLabels: Set<string>;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

export function promqlRefs(input: string): Refs {
  const refs: Refs = { metrics: new Set(), selectorLabels: new Map(), groupLabels: new Set(), madeLabels: new Set() };
  // Grafana's variables: an interval and label values inside strings.
  let expr = input.replace(/\$__rate_interval|\$__interval/g, '5m');
  // label_values(selector, label) of a dashboard variable.
  const lv = expr.match(/^label_values\((.*),\s*([A-Za-z_]\w*)\s*\)$/);
  if (lv) {
    const inner = promqlRefs(lv[1]!);
    for (const m of inner.metrics) refs.metrics.add(m);
    for (const [m, ls] of inner.selectorLabels) refs.selectorLabels.set(m, new Set([...ls, lv[2]!]));
    return refs;
  }
  // label_replace(v, "dst", "replacement", "src", "regex") makes the label dst.
  for (const m of expr.matchAll(/"([A-Za-z_]\w*)"\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*\)/g)) refs.madeLabels.add(m[1]!);
  for (const m of expr.matchAll(/([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}/g)) {
    const labels = new Set([...m[2]!.matchAll(/([A-Za-z_]\w*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!));
    if (m[1] && !KEYWORDS.has(m[1])) {
      refs.metrics.add(m[1]);
      refs.selectorLabels.set(m[1], new Set([...(refs.selectorLabels.get(m[1]) ?? []), ...labels]));
    }
  }
  expr = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  for (const m of expr.matchAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of m[2]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      refs.groupLabels.add(l);
  }
  expr = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of expr.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] !== undefined || KEYWORDS.has(m[1]!)) continue; // a function or aggregation, or a keyword
    refs.metrics.add(m[1]!);
  }
  return refs;
}

// ---- The metrics a real relay exports ----

let relay: RunningRelay | null = null;
/** Exported name (with _bucket/_sum/_count for histograms) -> label names. */
const exported = new Map<string, Set<string>>();

before(async () => {
  relay = await startServer({
    config: configWith({ host: '127.0.0.1', port: 0, metricsPort: 0, drainLingerMs: 0, logLevel: 'silent' }),
    logger: createLogger('silent'),
  });
  const res = await fetch(`${relay.metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const registry = relay.app.relay.metrics.registry;
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    const labels = new Set<string>((registry.getSingleMetric(name) as { labelNames?: string[] } | undefined)?.labelNames ?? []);
    if (type === 'histogram') {
      exported.set(`${name}_bucket`, new Set([...labels, 'le']));
      exported.set(`${name}_sum`, labels);
      exported.set(`${name}_count`, labels);
    } else if (type === 'summary') {
      exported.set(name, new Set([...labels, 'quantile']));
      exported.set(`${name}_sum`, labels);
      exported.set(`${name}_count`, labels);
    } else {
      exported.set(name, labels);
    }
  }
  // Once src/ exports it, the real labels are checked instead (and the exception can go).
  for (const [name, labels] of Object.entries(ADDED_ELSEWHERE)) {
    const real = exported.get(name);
    if (real) for (const l of labels) assert.ok(real.has(l), `${name} is exported without the label ${l} the dashboard shows`);
  }
});

after(async () => {
  await relay?.shutdown('test');
});

function labelsOf(metric: string): Set<string> | undefined {
  const added = ADDED_ELSEWHERE[metric];
  return exported.get(metric) ?? (added ? new Set(added) : undefined);
}

/** Every metric exists and every label it is filtered, grouped or named by exists on it. */
function assertKnown(where: string, exprs: string[], legends: string[] = []): Set<string> {
  const seen = new Set<string>();
  const exprLabels = new Set<string>(TARGET_LABELS);
  const grouped = new Set<string>();
  for (const expr of exprs) {
    const refs = promqlRefs(expr);
    assert.ok(refs.metrics.size > 0, `${where}: no metric in ${expr}`);
    for (const metric of refs.metrics) {
      const labels = labelsOf(metric);
      assert.ok(labels, `${where}: ${metric} is not exported by the relay (in ${expr})`);
      seen.add(metric);
      for (const l of labels) exprLabels.add(l);
      for (const l of refs.selectorLabels.get(metric) ?? []) {
        assert.ok(TARGET_LABELS.has(l) || labels.has(l), `${where}: ${metric} has no label ${l}`);
      }
    }
    for (const l of refs.madeLabels) exprLabels.add(l);
    for (const l of refs.groupLabels) grouped.add(l);
  }
  for (const l of grouped) assert.ok(exprLabels.has(l), `${where}: grouped by ${l}, which none of its metrics has`);
  for (const legend of legends) {
    for (const m of legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) assert.ok(exprLabels.has(m[1]!), `${where}: legend names ${m[1]}, which none of its metrics has`);
  }
  return seen;
}

describe('PromQL name extraction (what the checks below rely on)', () => {
  it('finds metrics, selector labels, grouping labels and label_replace targets', () => {
    const refs = promqlRefs(
      'histogram_quantile(0.99, sum by (le, endpoint) (rate(a_bucket{job="x",status=~"5.."}[$__rate_interval]))) / on(job) b + max(label_replace(c, "protocol", "v1", "", "")) > 1e3 or absent(d_total{x!="y"})',
    );
    assert.deepEqual([...refs.metrics].sort(), ['a_bucket', 'b', 'c', 'd_total']);
    assert.deepEqual([...refs.selectorLabels.get('a_bucket')!].sort(), ['job', 'status']);
    assert.deepEqual([...refs.groupLabels].sort(), ['endpoint', 'job', 'le']);
    assert.deepEqual([...refs.madeLabels], ['protocol']);
    const lv = promqlRefs('label_values(m{namespace="$namespace"}, job)');
    assert.deepEqual([...lv.metrics], ['m']);
    assert.deepEqual([...lv.selectorLabels.get('m')!].sort(), ['job', 'namespace']);
  });
});

describe('PrometheusRule', () => {
  it('is off by default; enabled, it needs the Prometheus Operator API or force', (t) => {
    if (!needHelm(t)) return;
    const defaults = renderOk([]);
    assert.equal(kinds(defaults, 'PrometheusRule').length, 0);
    assert.equal(kinds(defaults, 'ConfigMap').length, 0);
    const refused = helmTemplate(['--set', 'prometheusRule.enabled=true']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /prometheusRule\.enabled=true but this cluster does not serve monitoring\.coreos\.com\/v1/);
    const withApi = renderOk(['--set', 'prometheusRule.enabled=true', '--api-versions', 'monitoring.coreos.com/v1']);
    assert.equal(kinds(withApi, 'PrometheusRule').length, 1);
  });

  it('has the seven alerts, each with severity, summary, description and a runbook link to its section', (t) => {
    if (!needHelm(t)) return;
    const { groups } = ruleGroups();
    const rules = groups.flatMap((g) => g.rules);
    assert.deepEqual(
      rules.map((r) => r.alert),
      ALERTS,
    );
    const runbook = readFileSync(RUNBOOK, 'utf8');
    // Anchors as GitHub makes them (the runbook test resolves its own links the same way).
    const anchors = new Set(
      [...runbook.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rules) {
      assert.match(rule.labels.severity ?? '', /^(critical|warning)$/, rule.alert);
      assert.ok((rule.annotations.summary ?? '').length > 10, `${rule.alert}: summary`);
      assert.ok((rule.annotations.description ?? '').length > 40, `${rule.alert}: description`);
      const url = rule.annotations.runbook_url ?? '';
      assert.ok(url.startsWith('https://github.com/futuroptimist/tokenplace-relay/blob/main/docs/apps/tokenplace-relay.md#'), url);
      const anchor = url.split('#')[1]!;
      assert.equal(anchor, rule.alert.toLowerCase());
      assert.ok(anchors.has(anchor), `${rule.alert}: the runbook has no section #${anchor}`);
      assert.match(rule.for, /^\d+m$/, `${rule.alert}: for`);
    }
  });

  it('takes labels, alert labels, the selector, the runbook and the thresholds from values', (t) => {
    if (!needHelm(t)) return;
    const objects = renderOk([
      ...BOTH_ON,
      '--set',
      'prometheusRule.labels.release=kube-prometheus-stack',
      '--set',
      'prometheusRule.alertLabels.team=tokenplace',
      '--set',
      'prometheusRule.selector=service="relay-x"',
      '--set',
      'prometheusRule.runbookUrl=https://runbooks.example.org/relay',
      '--set-json',
      'prometheusRule.alerts.queueAge={"seconds":120,"for":"3m","severity":"critical"}',
      '--set',
      'prometheusRule.rateWindow=10m',
    ]);
    const [rule] = kinds(objects, 'PrometheusRule');
    assert.equal(rule!.metadata.labels!.release, 'kube-prometheus-stack');
    const rules: Rule[] = rule!.spec.groups[0].rules;
    for (const r of rules) {
      assert.equal(r.labels.team, 'tokenplace', r.alert);
      assert.ok(r.expr.includes('{service="relay-x"'), `${r.alert}: ${r.expr}`);
      assert.ok(!r.expr.includes('job='), `${r.alert}: the default selector is replaced`);
      assert.ok(r.annotations.runbook_url!.startsWith('https://runbooks.example.org/relay#'), r.annotations.runbook_url);
    }
    const age = rules.find((r) => r.alert === 'TokenplaceRelayQueueAgeHigh')!;
    assert.match(age.expr, /> 120\n/);
    assert.equal(age.for, '3m');
    assert.equal(age.labels.severity, 'critical');
    assert.match(rules.find((r) => r.alert === 'TokenplaceRelayServerErrors')!.expr, /\[10m\]/);
  });

  it('the schema refuses a ratio above 1 and an unknown alert key', (t) => {
    if (!needHelm(t)) return;
    const ratio = helmTemplate([...BOTH_ON, '--set-json', 'prometheusRule.alerts.serverErrors.ratio=5']);
    assert.notEqual(ratio.status, 0);
    assert.match(ratio.stderr, /serverErrors\/ratio/);
    const unknown = helmTemplate([...BOTH_ON, '--set', 'prometheusRule.alerts.typo.for=5m']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /typo/);
  });

  it('promtool check rules accepts the rendered groups', (t) => {
    if (!needHelm(t)) return;
    const promtool = requireTool(t, 'promtool', PROMTOOL_HINT);
    if (!promtool) return;
    const dir = promtoolDir();
    const r = run(promtool, ['check', 'rules', join(dir, 'relay-rules.rendered.yaml')]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 7 rules found/);
  });

  it('promtool check rules refuses a broken expression (it really parses them)', (t) => {
    const promtool = requireTool(t, 'promtool', PROMTOOL_HINT);
    if (!promtool) return;
    const dir = tempDir('tp-promtool-');
    const file = writeTemp(dir, 'bad.yaml', stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (le (rate(x[5m]))' }] }] }));
    const r = run(promtool, ['check', 'rules', file]);
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /FAILED/);
  });

  it('promtool test rules: every alert fires on its input series and stays quiet on the others', (t) => {
    if (!needHelm(t)) return;
    const promtool = requireTool(t, 'promtool', PROMTOOL_HINT);
    if (!promtool) return;
    // The unit tests cover each alert both ways.
    const tests = parse(readFileSync(UNIT_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const cases = tests.tests.flatMap((g) => g.alert_rule_test);
    for (const alert of ALERTS) {
      assert.ok(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
        `${alert}: no firing case`,
      );
      assert.ok(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
        `${alert}: no quiet case`,
      );
    }
    const dir = promtoolDir();
    const r = run(promtool, ['test', 'rules', join(dir, 'relay-rules.test.yaml')]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /relay-rules\.test\.yaml\n\s+SUCCESS/);
    t.diagnostic(r.stdout.trim().replace(/\s+/g, ' '));
  });

  it('promtool test rules fails when a threshold or a for moves (the unit tests hold the defaults)', (t) => {
    if (!needHelm(t)) return;
    const promtool = requireTool(t, 'promtool', PROMTOOL_HINT);
    if (!promtool) return;
    for (const [set, alert] of [
      ['prometheusRule.alerts.queueAge.seconds=1000', 'TokenplaceRelayQueueAgeHigh'],
      ['prometheusRule.alerts.storeDown.for="30m"', 'TokenplaceRelayStoreDown'],
      ['prometheusRule.alerts.unavailable.ratio=0.6', 'TokenplaceRelayUnavailable'],
    ] as const) {
      const dir = promtoolDir(['--set-json', set]);
      const r = run(promtool, ['test', 'rules', join(dir, 'relay-rules.test.yaml')]);
      // promtool prints the failures on stderr.
      assert.equal(r.status, 1, `${set}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, new RegExp(`FAILED:[\\s\\S]*alertname: ${alert}, time: `), set);
    }
  });

  it('every metric and label the alerts query is exported by the relay', (t) => {
    if (!needHelm(t)) return;
    const rules = ruleGroups().groups.flatMap((g) => g.rules);
    const seen = new Set<string>();
    for (const rule of rules) for (const m of assertKnown(rule.alert, [rule.expr])) seen.add(m);
    assert.ok(seen.has('tokenplace_relay_store_up') && seen.has('tokenplace_relay_rate_limited_total'));
    assert.ok(!seen.has('tokenplace_build_info'), 'no alert depends on the metric src/ does not export yet');
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
  type Panel = {
    id: number;
    type: string;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    datasource?: { uid: string };
    targets?: { expr: string; legendFormat?: string; refId: string }[];
  };
  const panels: Panel[] = dashboard.panels;

  it('is a ConfigMap with the sidecar label, off by default, carrying dashboards/relay.json', (t) => {
    if (!needHelm(t)) return;
    const objects = renderOk(BOTH_ON);
    const [cm, ...rest] = kinds(objects, 'ConfigMap');
    assert.ok(cm && rest.length === 0);
    assert.equal(cm.metadata.name, 'tokenplace-relay-dashboard');
    assert.equal(cm.metadata.namespace, 'tokenplace');
    assert.equal(cm.metadata.labels!.grafana_dashboard, '1');
    assert.equal(cm.metadata.labels!['app.kubernetes.io/instance'], 'tokenplace-relay');
    assert.deepEqual(JSON.parse(cm.data['tokenplace-relay.json']), dashboard);

    const custom = kinds(
      renderOk([
        ...BOTH_ON,
        '--set',
        'grafanaDashboard.label=grafana.example/dashboard',
        '--set-string',
        'grafanaDashboard.labelValue=relay',
        '--set',
        'grafanaDashboard.namespace=monitoring',
        '--set',
        'grafanaDashboard.folder=token.place',
      ]),
      'ConfigMap',
    )[0]!;
    assert.equal(custom.metadata.labels!['grafana.example/dashboard'], 'relay');
    assert.equal(custom.metadata.labels!.grafana_dashboard, undefined);
    assert.equal(custom.metadata.namespace, 'monitoring');
    assert.equal(custom.metadata.annotations!.grafana_folder, 'token.place');
  });

  it('is a well-formed dashboard: unique ids, a 24-column grid without overlaps, every query on the chosen datasource', () => {
    assert.equal(dashboard.uid, 'tokenplace-relay');
    assert.equal(typeof dashboard.title, 'string');
    assert.ok(dashboard.schemaVersion >= 36);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: gridPos ${JSON.stringify(g)}`);
      for (let x = g.x; x < g.x + g.w; x += 1)
        for (let y = g.y; y < g.y + g.h; y += 1) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: no query`);
      assert.equal(new Set(p.targets.map((q) => q.refId)).size, p.targets.length, `${p.title}: refIds unique`);
    }
    const variables = new Set<string>(dashboard.templating.list.map((v: { name: string }) => v.name));
    assert.deepEqual([...variables], ['datasource', 'namespace', 'job']);
    for (const m of JSON.stringify(dashboard).matchAll(/\$\{?(\w+)/g)) {
      assert.ok(variables.has(m[1]!) || m[1]!.startsWith('__'), `undefined variable $${m[1]}`);
    }
    for (const p of panels)
      for (const q of p.targets ?? []) {
        assert.ok(q.expr.includes('namespace="$namespace",job="$job"'), `${p.title}: query not scoped to the chosen relay: ${q.expr}`);
      }
  });

  it('every metric and label it queries is exported by the relay (tokenplace_build_info excepted)', () => {
    const seen = new Set<string>();
    for (const p of panels) {
      if (!p.targets) continue;
      for (const m of assertKnown(
        p.title,
        p.targets.map((q) => q.expr),
        p.targets.map((q) => q.legendFormat ?? ''),
      ))
        seen.add(m);
    }
    for (const v of dashboard.templating.list.filter((x: { type: string }) => x.type === 'query')) {
      for (const m of assertKnown(`variable ${v.name}`, [v.query.query])) seen.add(m);
    }
    // What an operator needs to see is on it.
    for (const metric of [
      'tokenplace_relay_nodes',
      'tokenplace_compute_nodes_healthy',
      'tokenplace_relay_queue_depth',
      'tokenplace_relay_oldest_queued_age_seconds',
      'tokenplace_relay_v1_oldest_queued_age_seconds',
      'tokenplace_relay_requests_total',
      'tokenplace_relay_rejections_total',
      'tokenplace_relay_rate_limited_total',
      'tokenplace_relay_request_duration_seconds_bucket',
      'tokenplace_relay_pickup_latency_seconds_bucket',
      'tokenplace_relay_store_up',
      'tokenplace_relay_share_top_ratio',
      'tokenplace_relay_draining',
      'tokenplace_build_info',
    ])
      assert.ok(seen.has(metric), `the dashboard does not show ${metric}`);
  });
});

describe('chart with the dashboard and the alerts on', () => {
  // The monitoring example turns on the ServiceMonitor, the rules and the dashboard (with force, as the recipe needs).
  const args = ['-f', devValues, '-f', stagingValues, '-f', monitoringValues];

  it('passes helm lint --strict', (t) => {
    if (!needHelm(t)) return;
    const r = run('helm', ['lint', '--strict', chartDir, ...args]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it(`kubectl-validate accepts the render against Kubernetes ${KUBE_VERSION}`, (t: TestContext) => {
    if (!needHelm(t)) return;
    if (!requireTool(t, 'kubectl-validate', KUBECTL_VALIDATE_HINT)) return;
    const objects = renderOk(args);
    assert.equal(kinds(objects, 'ConfigMap').length, 1);
    assert.equal(kinds(objects, 'PrometheusRule').length, 1);
    // The Prometheus Operator kinds are CRDs with no schema offline; the tests above check them.
    const builtin = objects.filter((o) => o.apiVersion !== 'monitoring.coreos.com/v1');
    const dir = tempDir('tp-validate-');
    const file = writeTemp(dir, 'render.yaml', builtin.map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = run('kubectl-validate', ['--version', KUBE_VERSION, file], { env: { ...process.env, KUBECONFIG: `${dir}/none` } });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /OK/);
  });
});
