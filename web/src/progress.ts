// The encrypted progress record upstream HEAD compute nodes send while they work (one at a time,
// replaced as they go; the relay hands the latest out with each "still pending" answer). Inside
// the encryption: {protocol, version, request_id, client_public_key, api_v1_progress:
// {schema_version: 1, sequence, phase: preparing|prefill|generating, total_prompt_tokens,
// cached_prompt_tokens, processed_prompt_tokens, generated_tokens, elapsed_ms}}.
import { PROTOCOL } from './relay.js';

export interface Progress {
  sequence: number;
  phase: 'preparing' | 'prefill' | 'generating';
  totalPromptTokens: number;
  processedPromptTokens: number;
  generatedTokens: number;
  elapsedMs: number;
}

const PHASES = new Set(['preparing', 'prefill', 'generating']);

function count(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : v === undefined ? 0 : null;
}

/** The record if it is well formed and belongs to this request, else null (ignored, never shown). */
export function readProgress(plaintext: string, requestId: string, clientKey: string): Progress | null {
  let env: unknown;
  try {
    env = JSON.parse(plaintext);
  } catch {
    return null;
  }
  if (env === null || typeof env !== 'object') return null;
  const e = env as Record<string, unknown>;
  if (e.protocol !== PROTOCOL || e.version !== 1 || e.request_id !== requestId) return null;
  if (e.client_public_key !== undefined && e.client_public_key !== clientKey) return null;
  const p = e.api_v1_progress as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object' || p.schema_version !== 1 || typeof p.phase !== 'string' || !PHASES.has(p.phase)) return null;
  const sequence = count(p.sequence);
  const total = count(p.total_prompt_tokens);
  const processed = count(p.processed_prompt_tokens);
  const generated = count(p.generated_tokens);
  const elapsed = count(p.elapsed_ms);
  if (!sequence || total === null || processed === null || generated === null || elapsed === null) return null;
  return {
    sequence,
    phase: p.phase as Progress['phase'],
    totalPromptTokens: total,
    processedPromptTokens: processed,
    generatedTokens: generated,
    elapsedMs: elapsed,
  };
}

/** Keeps the newest record: sequences only go up, so an older or replayed one is dropped. */
export function newer(current: Progress | null, next: Progress | null): Progress | null {
  if (!next) return current;
  return !current || next.sequence > current.sequence ? next : current;
}

export function describeProgress(p: Progress): string {
  const secs = `${(p.elapsedMs / 1000).toFixed(1)} s`;
  if (p.phase === 'preparing') return `The compute node is preparing (${secs})`;
  if (p.phase === 'prefill') {
    const of = p.totalPromptTokens > 0 ? ` (${p.processedPromptTokens} of ${p.totalPromptTokens} tokens)` : '';
    return `The compute node is reading the conversation${of} · ${secs}`;
  }
  return `The compute node is writing: ${p.generatedTokens} ${p.generatedTokens === 1 ? 'token' : 'tokens'} so far · ${secs}`;
}
