// The node side of streamed answers (README "Signed answers and streaming", snapshots-v1): the
// plaintext of one snapshot record, optionally signed, and a pacer that posts at most one record
// per interval, the newest text winning, so a fast model costs a bounded number of records.
import { signText, type SigningScheme, type TextSignature } from './signed-answer.js';

export const STREAM_FORMAT = 'snapshots-v1';

export interface SnapshotContext {
  protocol: string;
  requestId: string;
  clientPublicKey: string;
  serverPublicKey: string;
  /** Present when the node signs: its private key and scheme. */
  signer?: { privateKeyPem: string; alg: SigningScheme };
}

/** The JSON envelope of a snapshot record (encrypt it for the client, post it as progress). */
export function snapshotEnvelope(ctx: SnapshotContext, sequence: number, text: string): Record<string, unknown> {
  const stream: { format: string; sequence: number; text: string; signature?: TextSignature } = { format: STREAM_FORMAT, sequence, text };
  if (ctx.signer) {
    stream.signature = signText(
      {
        protocol: ctx.protocol,
        purpose: 'snapshot',
        requestId: ctx.requestId,
        clientPublicKey: ctx.clientPublicKey,
        serverPublicKey: ctx.serverPublicKey,
        sequence,
        finishReason: '',
        text,
      },
      ctx.signer.privateKeyPem,
      ctx.signer.alg,
    );
  }
  return { protocol: ctx.protocol, version: 1, request_id: ctx.requestId, client_public_key: ctx.clientPublicKey, api_v1_stream: stream };
}

/**
 * Posts the latest offered text at most once per `intervalMs` (the first at once), one post in
 * flight at a time; texts offered in between are folded into the next post. `send` resolving
 * false (the relay no longer wants records for this request) stops the pacer.
 */
export class SnapshotPacer {
  private pending: string | null = null;
  private inFlight: Promise<void> | null = null;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  stopped = false;
  /** The relay refused a record: the request is no longer active. */
  refused = false;
  posted = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (text: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {}

  offer(text: string): void {
    if (this.stopped) return;
    this.pending = text;
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.timer || this.pending === null || this.stopped) return;
    const wait = this.lastStart + this.intervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    const text = this.pending;
    this.pending = null;
    this.lastStart = this.now();
    this.posted += 1;
    this.inFlight = this.send(text)
      .then(
        (ok) => {
          if (!ok) this.refused = this.stopped = true;
        },
        () => undefined,
      )
      .finally(() => {
        this.inFlight = null;
        this.pump();
      });
  }

  /** Drops what is not yet posted and waits for the post in flight: the final answer goes next. */
  async close(): Promise<void> {
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = true;
    await this.inFlight;
  }
}
