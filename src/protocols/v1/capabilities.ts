// What an API v1 compute node may claim about itself, checked and normalised (protocol.md §E.3),
// and how a requested model id maps onto the ids nodes advertise.
import { RelayError } from '../../core/errors.js';
import { CONTEXT_TIER_TOKENS, isContextTier, type ContextTier, type V1Capabilities } from './types.js';

export const DEFAULT_MODEL_ID = 'qwen3-8b-instruct';
export const DEFAULT_CONTEXT_TIER: ContextTier = '8k-fast';
export const MAX_MODEL_IDS = 64;
export const MAX_MODEL_ID_CHARS = 128;
export const MAX_CONCURRENCY = 128;
const MAX_TOKENS = 1_000_000;
/**
 * A label is for a table cell and a log field: 60 UTF-16 units, the longest the chat page shows
 * (web/src/nodes.ts), so every accepted label is displayed as sent.
 */
export const MAX_NODE_LABEL_CHARS = 60;
/**
 * Refused in labels: control characters, format characters (bidi overrides, zero-width joiners
 * that could make two labels look alike or reorder a log line), surrogates, private-use and
 * unassigned code points, line and paragraph separators.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\u2028\u2029]/u;
const BACKEND_CLASSES = new Set(['cpu', 'cuda', 'metal', 'vulkan', 'gpu', 'unknown']);
/** End-to-end extensions a node may advertise; the relay carries them to clients and needs nothing else. */
export const ANSWER_SIGNING_SCHEMES = ['rsa-pss-sha256', 'rsassa-pkcs1v15-sha256'] as const;
export const STREAMING_FORMATS = ['snapshots-v1'] as const;

/**
 * Model names clients use that the token.place catalogue serves with its canonical model
 * (upstream utils/llm/model_profiles.py at HEAD lists these as aliases of qwen3-8b-instruct).
 */
const MODEL_ALIASES: Readonly<Record<string, string>> = {
  'llama-3.1-8b-instruct': DEFAULT_MODEL_ID,
  'llama-3-8b-instruct': DEFAULT_MODEL_ID,
  'gpt-3.5-turbo': DEFAULT_MODEL_ID,
  'gpt-5-chat-latest': DEFAULT_MODEL_ID,
};

/**
 * The operator-chosen label a node sends (`node_label`). Absent, null or blank: no label.
 * Otherwise it must be a string that, trimmed, has at most MAX_NODE_LABEL_CHARS printable
 * characters; anything else is refused (400 invalid_node_label) rather than silently altered, so
 * the operator learns why the name they chose does not show.
 */
export function normaliseNodeLabel(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RelayError('invalid_node_label', { field: 'node_label' });
  const label = value.trim();
  if (label === '') return undefined;
  if (label.length > MAX_NODE_LABEL_CHARS || UNPRINTABLE.test(label)) throw new RelayError('invalid_node_label', { field: 'node_label' });
  return label;
}

/** Capabilities with the node's label (when it sent one). */
export function withLabel(caps: V1Capabilities, label: string | undefined): V1Capabilities {
  return label === undefined ? caps : { ...caps, label };
}

/** Model ids clients may name for the canonical model (aliases), for the model listing. */
export function modelAliases(): Readonly<Record<string, string>> {
  return MODEL_ALIASES;
}

/** Lower-cased, trimmed, aliases resolved. */
export function resolveModelId(requested: string): string {
  const id = requested.trim().toLowerCase();
  return Object.hasOwn(MODEL_ALIASES, id) ? MODEL_ALIASES[id]! : id;
}

/** A node that registers without capabilities is listed but never scheduled (no model ids). */
export function defaultCapabilities(): V1Capabilities {
  return {
    supportedModelIds: [],
    contextTier: DEFAULT_CONTEXT_TIER,
    maxContextTokens: CONTEXT_TIER_TOKENS[DEFAULT_CONTEXT_TIER],
    defaultOutputReservation: 1024,
    maxOutputTokens: 1024,
    maxConcurrency: 1,
    backendClass: 'unknown',
  };
}

function invalid(message: string): RelayError {
  return new RelayError('invalid_capabilities', { message, field: 'capabilities' });
}

function positiveInt(value: unknown, max = MAX_TOKENS): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max ? value : null;
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function modelIds(value: unknown): string[] | null {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MODEL_IDS) return null;
  const ids: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') return null;
    const id = item.trim().toLowerCase();
    if (id === '' || id.length > MAX_MODEL_ID_CHARS) return null;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * Checks a node's `capabilities` object. Absent (undefined/null) gives the unschedulable
 * defaults; anything malformed is a 400 invalid_capabilities naming what is wrong.
 * Accepts `model_ids` for `supported_model_ids` and `context_tier` for `active_context_tier`.
 */
export function normaliseCapabilities(value: unknown): V1Capabilities {
  if (value === undefined || value === null) return defaultCapabilities();
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('capabilities must be an object');
  const caps = value as Record<string, unknown>;
  const apiVersion = caps.api_version ?? 'v1';
  if (apiVersion !== 'v1' && apiVersion !== 1) throw invalid('capabilities.api_version must be v1');
  const rawTier = isEmpty(caps.active_context_tier) ? caps.context_tier : caps.active_context_tier;
  if (typeof rawTier !== 'string') throw invalid('capabilities.active_context_tier must be a string');
  const contextTier = rawTier.trim();
  if (!isContextTier(contextTier)) throw invalid(`capabilities.active_context_tier must be one of ${Object.keys(CONTEXT_TIER_TOKENS).join(', ')}`);
  const ids = modelIds(isEmpty(caps.supported_model_ids) ? caps.model_ids : caps.supported_model_ids);
  if (ids === null)
    throw invalid(`capabilities.supported_model_ids must be a list of 1-${MAX_MODEL_IDS} non-empty strings of at most ${MAX_MODEL_ID_CHARS} characters`);
  const maxContextTokens = positiveInt(caps.maximum_total_context_tokens);
  if (maxContextTokens === null) throw invalid('capabilities.maximum_total_context_tokens must be a positive integer');
  if (maxContextTokens < CONTEXT_TIER_TOKENS[contextTier]) throw invalid('capabilities.maximum_total_context_tokens is smaller than the active context tier');
  const defaultOutputReservation = positiveInt(caps.default_output_token_reservation);
  const maxOutputTokens = positiveInt(caps.maximum_output_tokens);
  const maxConcurrency = positiveInt(caps.max_concurrency, MAX_CONCURRENCY);
  if (defaultOutputReservation === null || maxOutputTokens === null || maxConcurrency === null) {
    throw invalid(`capabilities token reservations must be positive integers and max_concurrency 1-${MAX_CONCURRENCY}`);
  }
  if (defaultOutputReservation > maxOutputTokens) throw invalid('capabilities.default_output_token_reservation exceeds maximum_output_tokens');
  const rawBackend = caps.backend_class ?? 'unknown';
  if (typeof rawBackend !== 'string') throw invalid('capabilities.backend_class must be a string');
  const backend = rawBackend.trim().toLowerCase();
  return {
    supportedModelIds: ids,
    contextTier,
    maxContextTokens,
    defaultOutputReservation,
    maxOutputTokens,
    maxConcurrency,
    backendClass: BACKEND_CLASSES.has(backend) ? backend : 'unknown',
    ...extension(caps, 'answer_signing', ANSWER_SIGNING_SCHEMES, 'answerSigning'),
    ...extension(caps, 'streaming', STREAMING_FORMATS, 'streaming'),
  };
}

/**
 * An optional extension flag: absent stays absent, a known value is kept, a value this relay
 * does not know (a newer scheme) is dropped rather than refused, so newer nodes still register;
 * only a non-string is malformed.
 */
function extension<K extends 'answerSigning' | 'streaming'>(
  caps: Record<string, unknown>,
  field: string,
  known: readonly string[],
  key: K,
): Partial<Record<K, string>> {
  const value = caps[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw invalid(`capabilities.${field} must be a string`);
  return known.includes(value) ? ({ [key]: value } as Partial<Record<K, string>>) : {};
}

/** The wire form (upstream field names) of normalised capabilities. */
export function capabilitiesWire(caps: V1Capabilities): Record<string, unknown> {
  return {
    api_version: 'v1',
    supported_model_ids: [...caps.supportedModelIds],
    active_context_tier: caps.contextTier,
    maximum_total_context_tokens: caps.maxContextTokens,
    default_output_token_reservation: caps.defaultOutputReservation,
    maximum_output_tokens: caps.maxOutputTokens,
    max_concurrency: caps.maxConcurrency,
    backend_class: caps.backendClass,
    ...(caps.answerSigning === undefined ? {} : { answer_signing: caps.answerSigning }),
    ...(caps.streaming === undefined ? {} : { streaming: caps.streaming }),
  };
}
