// Request-body rules shared by every route. The relay never interprets ciphertext or keys; it
// only insists they are non-empty strings of bounded length (relay.py accepted numbers and
// handed them to clients, which crashed).
import { RelayError, type ErrorCode } from '../core/errors.js';

export type JsonObject = Record<string, unknown>;

/** The body must be a JSON object. No body at all means the client did not send JSON. */
export function requireObject(body: unknown): JsonObject {
  if (body === undefined) throw new RelayError('unsupported_media_type');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RelayError('invalid_request');
  return body as JsonObject;
}

/** All of `names` present and not null (relay.py's presence check). */
export function requirePresent(body: JsonObject, names: readonly string[], code: ErrorCode = 'invalid_request'): void {
  for (const name of names) {
    if (body[name] === undefined || body[name] === null) throw new RelayError(code, { field: name });
  }
}

/** A non-empty string no longer than `maxChars`. */
export function stringField(body: JsonObject, name: string, maxChars: number, code: ErrorCode = 'invalid_request'): string {
  const value = body[name];
  if (typeof value !== 'string' || value.length === 0) throw new RelayError(code, { field: name });
  if (value.length > maxChars) throw new RelayError('field_too_long', { field: name });
  return value;
}

/** Python truthiness of a JSON value, as relay.py applies it to flags such as `stream`. */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * `max_batch_size` as relay.py reads it: absent/null → 1; Python int() coercion ("2" → 2,
 * 2.7 → 2, true → 1); anything else or < 1 is an error. Capped at `cap` rather than refused,
 * so a node asking for more simply gets fewer.
 */
export function maxBatchSize(value: unknown, cap: number): number {
  if (value === undefined || value === null) return 1;
  let n: number;
  if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'number' && Number.isFinite(value)) n = Math.trunc(value);
  else if (typeof value === 'string' && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) n = Number(value.trim().replaceAll('_', ''));
  else throw new RelayError('invalid_max_batch_size', { field: 'max_batch_size' });
  if (!Number.isSafeInteger(n) || n < 1) throw new RelayError('invalid_max_batch_size', { field: 'max_batch_size' });
  return Math.min(n, cap);
}
