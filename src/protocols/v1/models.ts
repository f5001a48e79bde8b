// GET /api/v1/models: an OpenAI-style model list (protocol.md §E) made of the operator's model
// catalogue (TOKENPLACE_MODEL_CATALOGUE, default: the one model token.place launches with) plus
// whatever model ids live API v1 nodes advertise right now, each saying whether a live node
// serves it. The relay runs no model: "live" is what the registrations claim.
import type { FastifyInstance } from 'fastify';
import '../../http/fastify-types.js';
import { PLANS } from '../../limits/budgets.js';
import { DEFAULT_MODEL_ID, MAX_MODEL_ID_CHARS, MAX_MODEL_IDS, modelAliases } from './capabilities.js';
import type { NodeView } from '../../store/types.js';

export interface CatalogueModel {
  id: string;
  owned_by: string;
  /** Unix seconds, as OpenAI lists carry; optional in the catalogue. */
  created?: number;
}

/**
 * token.place's launch catalogue: its one public model (upstream utils/llm/model_profiles.py at
 * HEAD), with the `created` value upstream's /api/v1/models reports for it.
 */
export const DEFAULT_MODEL_CATALOGUE: readonly CatalogueModel[] = Object.freeze([
  Object.freeze({ id: DEFAULT_MODEL_ID, owned_by: 'Qwen', created: 1_707_190_418 }),
]);

/** The doctor's probe node advertises ids under this prefix: never offered to anyone (src/doctor/probe.ts). */
const PRIVATE_MODEL_PREFIX = 'tokenplace-doctor-probe-';
const MODEL_ID = /^[a-z0-9][a-z0-9._:@/+-]*$/;
const OWNER = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const MAX_OWNER_CHARS = 64;
const DEFAULT_OWNER = 'token.place';
/** Nodes looked at per listing (the node cap's default); a larger fleet is counted from its first ones. */
const NODES_LOOKED_AT = 1000;
/** Listings are rebuilt at most this often: the route is public and a scan touches every node. */
const LISTING_TTL_MS = 1000;

function checkId(raw: unknown, where: string): string {
  if (typeof raw !== 'string') throw new Error(`${where}: id must be a string`);
  const id = raw.trim().toLowerCase();
  if (id === '' || id.length > MAX_MODEL_ID_CHARS || !MODEL_ID.test(id)) {
    throw new Error(`${where}: id ${JSON.stringify(raw)} must be 1-${MAX_MODEL_ID_CHARS} characters of a-z 0-9 . _ : @ / + -`);
  }
  return id;
}

function checkOwner(raw: unknown, where: string): string {
  if (raw === undefined || raw === null) return DEFAULT_OWNER;
  if (typeof raw !== 'string' || raw.trim().length > MAX_OWNER_CHARS || !OWNER.test(raw.trim())) {
    throw new Error(`${where}: owned_by must be 1-${MAX_OWNER_CHARS} printable ASCII characters`);
  }
  return raw.trim();
}

/**
 * Reads TOKENPLACE_MODEL_CATALOGUE: a JSON array of `{"id", "owned_by"?, "created"?}` or a comma
 * list of `id` / `id=owner`. Ids are lower-cased (as nodes' ids are). Throws an Error naming the
 * entry at fault; the result is frozen.
 */
export function parseModelCatalogue(text: string): readonly CatalogueModel[] {
  const trimmed = text.trim();
  const models: CatalogueModel[] = [];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('is not valid JSON');
    }
    if (!Array.isArray(parsed)) throw new Error('must be a JSON array');
    parsed.forEach((entry: unknown, i) => {
      const where = `entry ${i}`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where} must be an object with an id`);
      const e = entry as Record<string, unknown>;
      for (const key of Object.keys(e)) if (!['id', 'owned_by', 'created'].includes(key)) throw new Error(`${where}: unknown field ${JSON.stringify(key)}`);
      const model: CatalogueModel = { id: checkId(e.id, where), owned_by: checkOwner(e.owned_by, where) };
      if (e.created !== undefined) {
        if (typeof e.created !== 'number' || !Number.isInteger(e.created) || e.created < 0 || e.created > 4_102_444_800)
          throw new Error(`${where}: created must be Unix seconds`);
        model.created = e.created;
      }
      models.push(model);
    });
  } else {
    trimmed.split(',').forEach((part, i) => {
      if (part.trim() === '') return;
      const [id, owner, ...rest] = part.split('=');
      if (rest.length > 0) throw new Error(`entry ${i}: use id or id=owner`);
      models.push({ id: checkId(id, `entry ${i}`), owned_by: checkOwner(owner, `entry ${i}`) });
    });
  }
  if (models.length === 0) throw new Error('names no model');
  if (models.length > MAX_MODEL_IDS) throw new Error(`lists more than ${MAX_MODEL_IDS} models`);
  const ids = new Set<string>();
  for (const m of models) {
    if (ids.has(m.id)) throw new Error(`lists ${m.id} twice`);
    ids.add(m.id);
  }
  return Object.freeze(models.map((m) => Object.freeze(m)));
}

export interface ListedModel {
  id: string;
  object: 'model';
  created?: number;
  owned_by: string;
  /** Whether it is in the operator's catalogue (else only a live node advertises it). */
  catalogued: boolean;
  /** Other names clients may use for it (resolved to it when choosing a node). */
  aliases: string[];
  live: boolean;
  live_nodes: number;
}

/** The listing for a catalogue and the live v1 nodes (views from store.listNodes). */
export function modelListing(catalogue: readonly CatalogueModel[], nodes: readonly NodeView[]): { object: 'list'; data: ListedModel[] } {
  const liveNodes = new Map<string, number>();
  for (const node of nodes) {
    if (node.protocol !== 'v1' || node.capabilities === undefined) continue;
    for (const id of new Set(node.capabilities.supportedModelIds)) liveNodes.set(id, (liveNodes.get(id) ?? 0) + 1);
  }
  const aliases = new Map<string, string[]>();
  for (const [alias, target] of Object.entries(modelAliases())) aliases.set(target, [...(aliases.get(target) ?? []), alias]);
  const entry = (id: string, owner: string, catalogued: boolean, created?: number): ListedModel => {
    const n = liveNodes.get(id) ?? 0;
    const model: ListedModel = { id, object: 'model', owned_by: owner, catalogued, aliases: aliases.get(id) ?? [], live: n > 0, live_nodes: n };
    if (created !== undefined) model.created = created;
    return model;
  };
  const data = catalogue.map((m) => entry(m.id, m.owned_by, true, m.created));
  const listed = new Set(catalogue.map((m) => m.id));
  const extra = [...liveNodes.keys()].filter((id) => !listed.has(id) && !id.startsWith(PRIVATE_MODEL_PREFIX)).sort();
  for (const id of extra.slice(0, MAX_MODEL_IDS)) data.push(entry(id, DEFAULT_OWNER, false));
  return { object: 'list', data };
}

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { config, store, clock } = app.relay;
  let cached: { at: number; body: Promise<ReturnType<typeof modelListing>> } | undefined;
  const listing = (): Promise<ReturnType<typeof modelListing>> => {
    const now = clock.now();
    if (cached === undefined || now - cached.at >= LISTING_TTL_MS || now < cached.at) {
      const body = store.listNodes(now, NODES_LOOKED_AT).then((nodes) => modelListing(config.modelCatalogue, nodes.v1));
      // A failed scan is not remembered: the next caller asks the store again.
      body.catch(() => {
        if (cached?.body === body) cached = undefined;
      });
      cached = { at: now, body };
    }
    return cached.body;
  };
  const handler = async (_request: unknown, reply: { header(name: string, value: string): unknown }) => {
    reply.header('cache-control', 'no-store');
    return listing();
  };
  app.get('/api/v1/models', { config: { name: 'v1_models', quiet: true, rateLimit: PLANS.clientAnonymous, cors: true } }, handler);
  // upstream serves the same list at /v1/models
  app.get('/v1/models', { config: { name: 'v1_models_alias', quiet: true, rateLimit: PLANS.clientAnonymous, cors: true } }, handler);
}
