// Which models live compute nodes offer, and how the page names the node that answered.
// Models come from GET /api/v1/models (an OpenAI-style list) where the relay has it, else from
// the capabilities the nodes registered (/relay/diagnostics).

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const MODEL_ID = /^[\w.:@/+-]{1,128}$/;

function uniq(ids: Iterable<unknown>): string[] {
  const out: string[] = [];
  for (const id of ids) if (typeof id === 'string' && MODEL_ID.test(id) && !out.includes(id)) out.push(id);
  return out.slice(0, 64);
}

/**
 * Ids from `{object: 'list', data: [{id, ...}]}`; null when the body is not such a list. Where the
 * relay says which models live nodes serve (`live`), only those are offered: a model nobody serves
 * right now could only end in "no matching compute node".
 */
export function modelsFromList(body: unknown): string[] | null {
  if (!isObject(body) || !Array.isArray(body.data)) return null;
  const entries = body.data.filter(isObject);
  const live = entries.some((m) => typeof m.live === 'boolean') ? entries.filter((m) => m.live === true) : entries;
  return uniq(live.map((m) => m.id));
}

function v1Nodes(body: unknown): Record<string, unknown>[] {
  if (!isObject(body)) return [];
  const list = Array.isArray(body.api_v1_registered_compute_nodes) ? body.api_v1_registered_compute_nodes : [];
  return list.filter(isObject);
}

/** Every model id the registered API v1 nodes advertise. */
export function modelsFromDiagnostics(body: unknown): string[] {
  return uniq(
    v1Nodes(body).flatMap((n) => {
      const caps = isObject(n.capabilities) ? n.capabilities : {};
      const ids = caps.supported_model_ids ?? caps.model_ids;
      return Array.isArray(ids) ? (ids as unknown[]) : [];
    }),
  );
}

// Control characters are what a label may not hold.
// eslint-disable-next-line no-control-regex
const LABEL = /^[^\u0000-\u001f\u007f]{1,60}$/;

/** A node's label, if the listing gives one (shown as text, never as markup). */
export function nodeLabel(body: unknown, key: string): string | undefined {
  const node = v1Nodes(body).find((n) => n.server_public_key === key);
  if (!node) return undefined;
  const caps = isObject(node.capabilities) ? node.capabilities : {};
  for (const v of [node.label, node.name, node.display_name, caps.label, caps.node_label]) {
    if (typeof v === 'string' && LABEL.test(v.trim())) return v.trim();
  }
  return undefined;
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 5000);
  try {
    const res = await fetch(path, { cache: 'no-store', signal: ctrl.signal });
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } finally {
    clearTimeout(timer);
  }
}

export interface ModelListing {
  models: string[];
  source: 'models' | 'diagnostics';
}

let modelsRouteMissing = false;

/** The models on offer now; null if the relay could not be asked. */
export async function loadModels(): Promise<ModelListing | null> {
  try {
    if (!modelsRouteMissing) {
      const a = await getJson('/api/v1/models');
      const ids = a.status === 200 ? modelsFromList(a.body) : null;
      if (ids) return { models: ids, source: 'models' };
      // Only a relay without the route falls back for good; other failures retry next time.
      if (a.status === 404) modelsRouteMissing = true;
    }
    const d = await getJson('/relay/diagnostics');
    if (d.status !== 200) return null;
    return { models: modelsFromDiagnostics(d.body), source: 'diagnostics' };
  } catch {
    return null;
  }
}

/**
 * What the page knows of a node from the relay's listing: its label and the end-to-end
 * extensions it advertises (README "Signed answers and streaming"). The relay could hide an
 * extension (the answer then shows as unverified, never as verified); it cannot fake a signature.
 */
export interface NodeInfo {
  label?: string;
  /** The signing scheme the node advertises; its answers must then carry a valid signature. */
  signing?: string;
  /** The streaming format the node offers. */
  streaming?: string;
}

export function nodeInfo(body: unknown, key: string): NodeInfo | null {
  const node = v1Nodes(body).find((n) => n.server_public_key === key);
  if (!node) return null;
  const caps = isObject(node.capabilities) ? node.capabilities : {};
  const label = nodeLabel(body, key);
  return {
    ...(label ? { label } : {}),
    ...(typeof caps.answer_signing === 'string' ? { signing: caps.answer_signing } : {}),
    ...(typeof caps.streaming === 'string' ? { streaming: caps.streaming } : {}),
  };
}

let lastListing: { at: number; body: unknown } | null = null;

/** Keeps the listing the status poll fetched, so a send usually needs no extra round trip. */
export function noteDiagnostics(body: unknown): void {
  lastListing = { at: Date.now(), body };
}

/** The node's info from a listing at most 10 s old, else from a fresh one; {} if not listed. */
export async function nodeInfoFor(key: string): Promise<NodeInfo> {
  const cached = lastListing && Date.now() - lastListing.at < 10_000 ? nodeInfo(lastListing.body, key) : null;
  if (cached) return cached;
  try {
    const d = await getJson('/relay/diagnostics');
    if (d.status !== 200) return {};
    noteDiagnostics(d.body);
    return nodeInfo(d.body, key) ?? {};
  } catch {
    return {};
  }
}

/** First 12 hex digits of SHA-256 over the key exactly as the relay receives it (its wire text): src/core/fingerprint.ts. */
export async function fingerprint(wireKey: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(wireKey));
  return Array.from(new Uint8Array(digest).slice(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
}
