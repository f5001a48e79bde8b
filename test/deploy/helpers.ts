// Shared helpers for the deployment-kit tests: run real helm/kubectl-validate, parse renders.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { requireTool } from '../support/tools.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'apps', 'tokenplace-relay');
export const devValues = join(repoRoot, 'docs', 'examples', 'tokenplace-relay.values.dev.yaml');
export const stagingValues = join(repoRoot, 'docs', 'examples', 'tokenplace-relay.values.staging.yaml');

// Tools installed by `go install` land in ~/go/bin; make them visible without editing PATH by hand.
for (const dir of [join(homedir(), 'go', 'bin'), '/usr/local/go/bin']) {
  if (!(process.env.PATH ?? '').split(delimiter).includes(dir)) process.env.PATH = `${process.env.PATH ?? ''}${delimiter}${dir}`;
}

export const HELM_HINT = 'go install helm.sh/helm/v3/cmd/helm@v3.22.0';
export const KUBECTL_VALIDATE_HINT = 'go install sigs.k8s.io/kubectl-validate@v0.0.4';
/**
 * Kubernetes version the renders are validated against: the newest schema set built into
 * kubectl-validate v0.0.4 (the newest release), so validation works offline.
 */
export const KUBE_VERSION = '1.30';

export function needHelm(t: TestContext): string | null {
  return requireTool(t, 'helm', HELM_HINT);
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Run {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    input: opts.input,
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template tokenplace-relay apps/tokenplace-relay -n tokenplace` plus extra args. */
export function helmTemplate(args: string[]): Run {
  return run('helm', ['template', 'tokenplace-relay', chartDir, '--namespace', 'tokenplace', ...args]);
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  [key: string]: any;
};

export function parseObjects(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`render is not valid YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS();
    if (value) out.push(value as K8sObject);
  }
  return out;
}

export function render(args: string[]): K8sObject[] {
  const r = helmTemplate(args);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseObjects(r.stdout);
}

export function one(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0]!;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeTemp(dir: string, name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}
