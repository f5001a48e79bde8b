// tokenplace_build_info{version,revision} = 1, and the chart feeding it and /api/v1/version from
// the image tag and the release values (rendered by the real helm).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildInfo } from '../../src/ops/build-info.js';
import { chartDir, needHelm, render, repoRoot } from '../deploy/helpers.ts';
import { testRelay } from '../support/relay-app.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

function buildLines(metrics: string): string[] {
  return metrics.split('\n').filter((l) => l.startsWith('tokenplace_build_info'));
}

describe('tokenplace_build_info', () => {
  it('is one series with version (package.json) and revision (unknown) when nothing says more', async () => {
    const relay = await testRelay();
    const lines = buildLines((await relay.inject({ method: 'GET', url: '/metrics' })).body);
    assert.deepEqual(lines, [`tokenplace_build_info{version="${PACKAGE_VERSION}",revision="unknown"} 1`]);
    await relay.app.close();
  });

  it('takes the release version and the revision from the environment, cleaned and bounded', async () => {
    const relay = await testRelay({}, { TOKENPLACE_RELEASE_VERSION: '1.4.0', TOKENPLACE_BUILD_REVISION: '0123456789abcdef0123456789abcdef01234567' });
    assert.deepEqual(buildLines((await relay.inject({ method: 'GET', url: '/metrics' })).body), [
      'tokenplace_build_info{version="1.4.0",revision="0123456789abcdef0123456789abcdef01234567"} 1',
    ]);
    await relay.app.close();
    const none = { releaseVersion: null, buildRevision: null, gitSha: null };
    assert.deepEqual(
      buildInfo({ ...none, imageTag: 'sha-abc1234' }),
      { version: PACKAGE_VERSION, revision: 'abc1234' },
      'an immutable sha tag names the revision',
    );
    assert.equal(buildInfo({ ...none, gitSha: 'feedface', imageTag: 'sha-abc1234' }).revision, 'feedface');
    assert.equal(buildInfo({ ...none, imageTag: '0.1.0' }).revision, 'unknown');
    const odd = buildInfo({ ...none, releaseVersion: '"}\n{evil="1 ' + 'x'.repeat(100), imageTag: null });
    assert.match(odd.version, /^[A-Za-z0-9._+-]{1,40}$/);
  });

  it('the chart passes the image tag and release values; /api/v1/version and the gauge report them', async (t) => {
    if (!needHelm(t)) return;
    const objects = render(['--set', 'image.tag=sha-0a1b2c3', '--set', 'release.environment=staging']);
    const deploy = objects.find((o) => o.kind === 'Deployment')!;
    const env = Object.fromEntries((deploy.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.equal(env.TOKENPLACE_IMAGE_TAG, 'sha-0a1b2c3');
    assert.equal(env.TOKENPLACE_DEPLOY_ENV, 'staging');
    assert.equal(env.TOKENPLACE_RELEASE_VERSION, undefined);
    const defaults = render([]).find((o) => o.kind === 'Deployment')!;
    const appVersion = /appVersion:\s*"?([^"\n]+)"?/.exec(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'))![1];
    const defaultEnv = defaults.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    assert.equal(defaultEnv.find((e) => e.name === 'TOKENPLACE_IMAGE_TAG')?.value, appVersion, 'no tag: the chart appVersion');
    assert.equal(
      defaultEnv.find((e) => e.name === 'TOKENPLACE_DEPLOY_ENV'),
      undefined,
    );

    const relay = await testRelay({}, { TOKENPLACE_IMAGE_TAG: env.TOKENPLACE_IMAGE_TAG, TOKENPLACE_DEPLOY_ENV: env.TOKENPLACE_DEPLOY_ENV });
    const version = (await relay.inject({ method: 'GET', url: '/api/v1/version' })).json();
    assert.deepEqual(version, { environment: 'staging', version: 'sha-0a1b2c3', label: 'staging sha-0a1b2c3' });
    assert.deepEqual(buildLines((await relay.inject({ method: 'GET', url: '/metrics' })).body), [
      `tokenplace_build_info{version="${PACKAGE_VERSION}",revision="0a1b2c3"} 1`,
    ]);
    await relay.app.close();
  });
});
