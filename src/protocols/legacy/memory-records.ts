// The records the legacy memory store holds per queued request and per stored answer: the entries
// a flood fills the relay with, so their shape is what every held entry costs beyond its bytes.
//
// Each is a class with a fixed set of fields assigned in one constructor, so every record shares
// one hidden class and keeps its fields in-object. (Built as `{ ...request, more }`, V8 gave
// each queued record a hidden class and descriptor array of its own plus an out-of-object
// property array: ~450 bytes per request, and the hidden classes live in old space, so the
// short-lived ones piled up as garbage until a full collection.) A time the store can derive
// (expiry = creation + its TTL, which is fixed per store) is not stored: with pointer compression
// every field holding a non-integer-sized number is a separate 12-byte heap number.
import type { QueuedRequest, StoredResponse } from './types.js';

/** A request waiting in a node's queue; it expires at enqueuedAt + the store's request TTL. */
export class QueuedRecord implements QueuedRequest {
  constructor(
    readonly clientKey: string,
    readonly chatHistory: string,
    readonly cipherkey: string,
    readonly iv: string,
    readonly stream: boolean,
    readonly enqueuedAt: number,
    /** Charged to the byte budget while queued. */
    readonly bytes: number,
    /** The address that queued it: charged for its queue share and bytes until claimed. */
    readonly source: string,
  ) {}
}

/** An answer waiting for its client; it expires at storedAt + the store's response TTL. */
export class ResponseRecord implements StoredResponse {
  constructor(
    readonly chatHistory: string,
    readonly cipherkey: string,
    readonly iv: string,
    readonly storedAt: number,
    readonly requestEnqueuedAt: number | null,
    readonly bytes: number,
    /** The answering node's address. */
    readonly source: string,
  ) {}
}
