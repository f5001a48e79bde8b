// The GitHub workflows cannot run here; this pins the properties the deploy contract depends on.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from './helpers.ts';

const load = (name: string) => parse(readFileSync(join(repoRoot, '.github', 'workflows', name), 'utf8'));
type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> };

describe('image workflow', () => {
  const wf = load('image.yml');
  const steps: Step[] = wf.jobs.image.steps;
  const index = (pred: (s: Step) => boolean) => steps.findIndex(pred);

  it('builds on every push to main and on v* tags, with no paths filter', () => {
    assert.deepEqual(wf.on.push.branches, ['main']);
    assert.deepEqual(wf.on.push.tags, ['v*']);
    assert.equal(wf.on.push.paths, undefined);
    assert.equal(wf.on.push['paths-ignore'], undefined);
    assert.ok('workflow_dispatch' in wf.on);
    assert.equal(wf.env.IMAGE, 'ghcr.io/futuroptimist/tokenplace-relay');
  });

  it('tags sha-<shortsha> of the commit it builds and semver, never latest', () => {
    const meta = steps.find((s) => s.uses?.startsWith('docker/metadata-action'))!;
    const tags = String(meta.with!.tags);
    // The checked-out commit (the dispatch `ref`), not github.sha, names the tag.
    assert.match(tags, /^type=raw,value=sha-\$\{\{ steps\.commit\.outputs\.short \}\}$/m);
    assert.match(tags, /type=semver,pattern=\{\{version\}\}/);
    assert.match(String(meta.with!.flavor), /latest=false/);
    assert.doesNotMatch(tags, /latest|type=ref,event=branch|type=sha/);
  });

  it('builds a chosen commit on workflow_dispatch (ref input) and pins the base by digest', () => {
    const text = readFileSync(join(repoRoot, '.github/workflows/image.yml'), 'utf8');
    const wf = parse(text) as { on: { workflow_dispatch: { inputs: { ref: { required: boolean } } } }; env: Record<string, string> };
    assert.equal(wf.on.workflow_dispatch.inputs.ref.required, false);
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout'))!;
    assert.equal(checkout.with!.ref, '${{ inputs.ref || github.sha }}');
    assert.match(wf.env.NODE_IMAGE!, /^docker\.io\/library\/node:24-slim@sha256:[0-9a-f]{64}$/);
    const builds = steps.filter((s) => s.uses?.startsWith('docker/build-push-action'));
    assert.equal(builds.length, 3);
    for (const b of builds) {
      assert.match(String(b.with!['build-args']), /^NODE_IMAGE=\$\{\{ env\.NODE_IMAGE \}\}$/m);
      assert.match(String(b.with!['build-args']), /^REVISION=\$\{\{ steps\.commit\.outputs\.sha \}\}$/m);
    }
  });

  it('smoke-tests amd64 and arm64 before logging in or pushing', () => {
    const smokes = steps.map((s, i) => [s, i] as const).filter(([s]) => s.run?.includes('scripts/image-smoke-test.sh'));
    assert.deepEqual(
      smokes.map(([s]) => s.run!.split(' ').at(-1)),
      ['linux/amd64', 'linux/arm64'],
    );
    const login = index((s) => Boolean(s.uses?.startsWith('docker/login-action')));
    const push = index((s) => s.with?.push === true);
    assert.ok(login > Math.max(...smokes.map(([, i]) => i)), 'login after the smoke tests');
    assert.ok(push > login);
    for (const [s] of smokes) assert.ok(existsSync(join(repoRoot, s.run!.split(' ')[0]!)));
    // The smoke builds are loaded locally and never pushed.
    for (const s of steps.slice(0, login)) assert.notEqual(s.with?.push, true, s.name);
  });

  it('pushes both platforms with an SBOM and provenance, never from pull requests', () => {
    const push = steps.find((s) => s.with?.push === true)!;
    assert.equal(push.with!.platforms, 'linux/amd64,linux/arm64');
    assert.equal(push.with!.sbom, true);
    assert.equal(push.with!.provenance, 'mode=max');
    assert.equal(push.if, "github.event_name != 'pull_request'");
  });
});

describe('chart workflow', () => {
  const wf = load('chart.yml');
  const runs = wf.jobs.chart.steps.map((s: Step) => s.run ?? '').join('\n');

  it('installs the same tool versions as .ci/run', () => {
    const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8');
    for (const m of runs.matchAll(/go install (\S+@\S+)/g)) assert.ok(ci.includes(m[1]), `.ci/run does not install ${m[1]}`);
    assert.match(runs, /helm\.sh\/helm\/v3\/cmd\/helm@v3\.\d+\.\d+/);
    assert.match(runs, /kubectl-validate@v\d/);
  });

  it('runs every deploy test file', () => {
    for (const file of ['chart', 'chart-negative', 'recipes', 'runbook', 'shellcheck', 'container-contract', 'workflows']) {
      assert.ok(runs.includes(`test/deploy/${file}.test.ts`), file);
    }
    assert.equal(wf.jobs.chart.env.CI, 'true');
  });
});
