// The runbook docs/apps/tokenplace-relay.md: every command in it runs (shell blocks and inline
// commands), with the real just/helm template/git and stub kubectl/helm/curl; it covers every section
// of the operator guide, its links resolve, and none of the old kit's traps come back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findTool, requireTool } from '../support/tools.ts';
import { parse } from 'yaml';
import { HELM_HINT, devValues, repoRoot, stagingValues } from './helpers.ts';
import { JUST, makeStubs } from './stubs.ts';

const RUNBOOK = join(repoRoot, 'docs', 'apps', 'tokenplace-relay.md');
const text = readFileSync(RUNBOOK, 'utf8');
const COMMAND_WORDS = ['just', 'kubectl', 'helm', 'curl', 'git', 'export'];

/** Commands of the ```bash blocks (comments dropped, `\` continuations joined). */
function blockCommands(markdown: string = text): string[] {
  const out: string[] = [];
  for (const match of markdown.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const joined = match[1]!.replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const cmd = line.trim();
      if (cmd && !cmd.startsWith('#')) out.push(cmd);
    }
  }
  return out;
}

/** Inline `code` outside fenced blocks that starts with a command word. */
function inlineCommands(): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '');
  const out: string[] = [];
  for (const match of prose.matchAll(/`([^`\n]+)`/g)) {
    const code = match[1]!.trim();
    if (COMMAND_WORDS.includes(code.split(/\s+/)[0]!) && code.split(/\s+/).length >= 3) out.push(code);
  }
  return out;
}

describe('runbook', () => {
  it('has every section of the operator guide', () => {
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const h of [
      'Prerequisites',
      'Container image and chart',
      'Quickstart (staging)',
      'Ingress, TLS, and Cloudflare DNS',
      'Configuration and secrets',
      'Troubleshooting',
    ]) {
      assert.ok(headings.includes(h), `missing section: ${h}`);
    }
  });

  it('every command in it runs', (t) => {
    const helm = requireTool(t, 'helm', HELM_HINT);
    if (!helm) return;
    if (!existsSync(JUST)) {
      if (process.env.CI === 'true') throw new Error(`${JUST} missing (npm install -g rust-just)`);
      return t.skip('just not installed');
    }
    const stubs = makeStubs(helm, findTool('node')!);
    const chartReadme = readFileSync(join(repoRoot, 'apps', 'tokenplace-relay', 'README.md'), 'utf8');
    const commands = [...new Set([...blockCommands(), ...inlineCommands(), ...blockCommands(chartReadme)])];
    assert.ok(commands.length >= 30, `only ${commands.length} commands found`);
    const usedRecipes = new Set<string>();
    for (const cmd of commands) {
      const r = stubs.run('bash', ['-euo', 'pipefail', '-c', cmd], { GHCR_USER: 'operator', GHCR_TOKEN: 'x' });
      assert.equal(r.status, 0, `\`${cmd}\` failed:\n${r.stdout}\n${r.stderr}`);
      if (cmd.startsWith('just ')) usedRecipes.add(cmd.split(/\s+/)[1]!);
      // Namespaced kubectl calls name their namespace; helm calls never reuse old values.
      for (const line of r.log) {
        assert.ok(!line.includes('--reuse-values'), line);
        if (
          line.startsWith('kubectl') &&
          !/^kubectl (config|get (ingressclass|clusterissuer|nodes)|create namespace|label (namespace|node)|apply -f)/.test(line)
        ) {
          assert.match(line, /(-n|--namespace) (tokenplace|kube-system)\b/, `${cmd} -> ${line}`);
        }
      }
      for (const file of cmd.matchAll(/-f (\S+\.ya?ml)/g)) assert.ok(existsSync(join(repoRoot, file[1]!)), `${cmd}: ${file[1]} missing`);
    }
    // Every operator recipe of the justfile is documented and was run.
    const justfile = readFileSync(join(repoRoot, 'justfile'), 'utf8');
    for (const m of justfile.matchAll(/^(tokenplace-[a-z-]+)/gm)) assert.ok(usedRecipes.has(m[1]!), `runbook never runs just ${m[1]}`);
  });

  it('its internal links and file references resolve', () => {
    const anchors = new Set(
      [...text.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const m of text.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(m[1]!), `broken anchor #${m[1]}`);
    for (const m of text.matchAll(/`((?:docs|apps|scripts)\/[^`\s]+)`/g)) assert.ok(existsSync(join(repoRoot, m[1]!)), `missing ${m[1]}`);
  });

  it('trusts the same proxy network in Traefik (HelmChartConfig) and in the relay (dev values)', () => {
    const hcc = parse(readFileSync(join(repoRoot, 'docs', 'examples', 'traefik-helmchartconfig.yaml'), 'utf8'));
    assert.equal(hcc.kind, 'HelmChartConfig');
    assert.deepEqual([hcc.metadata.name, hcc.metadata.namespace], ['traefik', 'kube-system']);
    const traefikValues = parse(hcc.spec.valuesContent);
    const dev = parse(readFileSync(devValues, 'utf8'));
    assert.deepEqual(traefikValues.ports.web.forwardedHeaders.trustedIPs, dev.trustedProxies);
    assert.ok(!dev.trustedProxies.includes('0.0.0.0/0'));
  });

  it('agrees with the staging values and names no trap of the old kit', () => {
    const staging = readFileSync(stagingValues, 'utf8');
    for (const s of [
      'staging.token.place',
      'staging-token-place-tls',
      'letsencrypt-production',
      'tokenplace-relay-secrets',
      'TOKEN_PLACE_RELAY_SERVER_TOKEN',
    ]) {
      assert.ok(staging.includes(s), `staging values lack ${s}`);
      assert.ok(text.includes(s), `runbook lacks ${s}`);
    }
    assert.ok(text.includes('http://traefik.kube-system.svc.cluster.local:80'));
    for (const bad of [
      '--reuse-values',
      'democratizedspace',
      'sha-19b332e',
      'envFromSecrets',
      ':latest',
      'main-latest',
      'gpu-server:5015',
      'staging-tokenplace-relay-tls',
    ]) {
      assert.ok(!text.includes(bad), `runbook mentions ${bad}`);
    }
  });
});
