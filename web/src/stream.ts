// Streamed answers over the encrypted progress channel (README "Signed answers and streaming",
// format snapshots-v1). Each record carries the whole text generated so far, its sequence and,
// from a signing node, a signature; the relay keeps only the latest record, so a lost one costs
// nothing (the next carries everything). What the page shows only moves forward: a record whose
// sequence is not above the last one shown (replayed, reordered), whose text does not extend the
// text shown, or whose signature does not check is refused and counted.
import { PROTOCOL } from './relay.js';

export const STREAM_FORMAT = 'snapshots-v1';

export interface Snapshot {
  sequence: number;
  text: string;
  signature: unknown;
}

/** A snapshot record for this request, or null if the record is not one (e.g. plain progress). */
export function readSnapshot(plaintext: string, requestId: string, clientKey: string): Snapshot | null {
  let env: unknown;
  try {
    env = JSON.parse(plaintext);
  } catch {
    return null;
  }
  if (env === null || typeof env !== 'object') return null;
  const e = env as Record<string, unknown>;
  const s = e.api_v1_stream as Record<string, unknown> | undefined;
  if (!s || typeof s !== 'object') return null;
  if (e.protocol !== PROTOCOL || e.version !== 1 || e.request_id !== requestId || e.client_public_key !== clientKey) return null;
  if (s.format !== STREAM_FORMAT || !Number.isSafeInteger(s.sequence) || (s.sequence as number) < 1 || typeof s.text !== 'string') return null;
  return { sequence: s.sequence as number, text: s.text, signature: s.signature ?? null };
}

export type Refusal = 'stale' | 'not_extension' | 'bad_signature';

export type Verdict = { accepted: true; text: string } | { accepted: false; reason: Refusal };

/**
 * The shown text of one streamed answer. `check` says whether a snapshot's signature is
 * acceptable (always true for a node that does not sign and sent none).
 */
export class SnapshotStream {
  lastSequence = 0;
  text = '';
  refused: Refusal[] = [];

  constructor(private readonly check: (s: Snapshot) => Promise<boolean>) {}

  async offer(s: Snapshot): Promise<Verdict> {
    const refuse = (reason: Refusal): Verdict => {
      this.refused.push(reason);
      return { accepted: false, reason };
    };
    if (s.sequence <= this.lastSequence) return refuse('stale');
    if (!s.text.startsWith(this.text)) return refuse('not_extension');
    if (!(await this.check(s))) return refuse('bad_signature');
    // Checked again: a newer record may have been accepted while this one was verified.
    if (s.sequence <= this.lastSequence) return refuse('stale');
    this.lastSequence = s.sequence;
    this.text = s.text;
    return { accepted: true, text: s.text };
  }
}

export function describeRefusals(refused: readonly Refusal[]): string {
  if (refused.length === 0) return '';
  const n = refused.length;
  const why = new Set(
    refused.map((r) => (r === 'stale' ? 'replayed or out of order' : r === 'not_extension' ? 'did not continue the text shown' : 'not signed by the node')),
  );
  return `${n} streamed ${n === 1 ? 'update was' : 'updates were'} refused (${[...why].join('; ')}).`;
}
