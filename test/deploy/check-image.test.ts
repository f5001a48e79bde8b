// scripts/check-image.mjs against a local registry stand-in speaking the distribution API (bearer
// challenge, index -> manifest -> config blob): which images the deploy recipe accepts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from './helpers.ts';
import { startRegistryStandIn, type RegistryStandIn } from './support/registry-stand-in.ts';

const REPO = 'futuroptimist/tokenplace-relay';
const OURS = { 'org.opencontainers.image.source': 'https://github.com/futuroptimist/tokenplace-relay', 'org.opencontainers.image.title': 'tokenplace-relay' };

function check(image: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'scripts/check-image.mjs'), image], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('scripts/check-image.mjs', () => {
  let registry: RegistryStandIn;
  before(async () => {
    registry = await startRegistryStandIn(REPO, [
      { tag: 'sha-1a2b3c4', labels: { ...OURS, 'org.opencontainers.image.revision': '1a2b3c4d5e6f00000000000000000000000000aa' } },
      { tag: 'sha-5d6e7f8', labels: { ...OURS, 'org.opencontainers.image.revision': '0000000000000000000000000000000000000000' } },
      {
        tag: 'sha-9a8b7c6',
        labels: {
          'org.opencontainers.image.source': 'https://github.com/futuroptimist/token.place',
          'org.opencontainers.image.title': 'token.place relay',
          'org.opencontainers.image.revision': '9a8b7c6000000000000000000000000000000000',
        },
      },
      { tag: '1.2.3', labels: { ...OURS } },
    ]);
  });
  after(() => registry.close());

  it('accepts this relay by tag and by digest, after the registry token challenge', async () => {
    let r = await check(`${registry.host}/${REPO}:sha-1a2b3c4`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Image is this relay: .*:sha-1a2b3c4 \(revision 1a2b3c4d5e6f\)/);
    assert.ok(registry.requests.includes('GET /token'), 'anonymous token fetched');
    r = await check(`${registry.host}/${REPO}@${registry.digestOf('sha-1a2b3c4')}`);
    assert.equal(r.code, 0, r.out);
  });

  it("refuses token.place's Python relay under the same name, a revision that is not the tag's commit, and missing labels", async () => {
    let r = await check(`${registry.host}/${REPO}:sha-9a8b7c6`);
    assert.equal(r.code, 3);
    assert.match(r.out, /is not this relay: source is not https:\/\/github\.com\/futuroptimist\/tokenplace-relay; title is not tokenplace-relay/);
    r = await check(`${registry.host}/${REPO}:sha-5d6e7f8`);
    assert.equal(r.code, 3);
    assert.match(r.out, /revision 0{40} is not commit 5d6e7f8 of tag sha-5d6e7f8/);
    r = await check(`${registry.host}/${REPO}:1.2.3`);
    assert.equal(r.code, 3);
    assert.match(r.out, /revision is not a commit hash/);
  });

  it('says "not published" for an unknown tag and "not reachable" for a registry that does not answer', async () => {
    let r = await check(`${registry.host}/${REPO}:sha-0badbad`);
    assert.equal(r.code, 2);
    assert.match(r.out, /no such tag or digest in the registry \(HTTP 404\)/);
    // A port nobody listens on (bound and released at once).
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    r = await check(`127.0.0.1:${port}/${REPO}:sha-1a2b3c4`);
    assert.equal(r.code, 4);
    assert.match(r.out, /registry not reachable/);
  });
});
