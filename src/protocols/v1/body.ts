// Request-body rules of the API v1 routes (protocol.md §E.3). Envelopes are ciphertext-only by
// schema: plaintext-looking fields and unknown fields are refused before anything else is read.
import { RelayError } from '../../core/errors.js';
import { requireObject, stringField, type JsonObject } from '../../http/validate.js';
import { API_V1_PROTOCOL } from './wire.js';
import type { V1Ciphertext } from './types.js';

/** Field names that would carry plaintext prompts or answers. */
const PLAINTEXT_FIELDS = ['messages', 'prompt', 'input', 'content', 'response', 'text'] as const;

/** Top-level fields a ciphertext envelope may have (plus server_public_key on admission). */
const ENVELOPE_FIELDS = new Set(['client_public_key', 'ciphertext', 'chat_history', 'cipherkey', 'iv', 'request_id', 'protocol', 'version', 'cancel_token']);

/** The exact field set of a progress envelope. */
export const PROGRESS_FIELDS = [
  'server_public_key',
  'client_public_key',
  'request_id',
  'control_credential',
  'protocol',
  'version',
  'ciphertext',
  'cipherkey',
  'iv',
] as const;

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const MAX_TOKEN_CHARS = 512;

export interface FieldLimits {
  keyChars: number;
  cipherChars: number;
}

export function rejectPlaintext(body: JsonObject): void {
  for (const name of PLAINTEXT_FIELDS) {
    if (Object.hasOwn(body, name)) throw new RelayError('plaintext_fields_forbidden', { field: name });
  }
}

function rejectUnexpected(body: JsonObject, allowed: readonly string[]): void {
  for (const name of Object.keys(body)) {
    if (!ENVELOPE_FIELDS.has(name) && !allowed.includes(name)) throw new RelayError('unexpected_fields_forbidden', { field: name });
  }
}

export function requestId(body: JsonObject, name = 'request_id'): string {
  const value = body[name];
  if (typeof value !== 'string' || !REQUEST_ID.test(value)) throw new RelayError('invalid_request', { field: name });
  return value;
}

/** Absent or null gives null; otherwise a request id. */
export function optionalRequestId(body: JsonObject): string | null {
  return body.request_id === undefined || body.request_id === null ? null : requestId(body);
}

/** A secret the client or node presents (cancel token, control credential): absent, null or not a string is "none". */
export function secret(body: JsonObject, name: string): string | null {
  const value = body[name];
  return typeof value === 'string' && value !== '' && value.length <= MAX_TOKEN_CHARS ? value : null;
}

export function publicKey(body: JsonObject, name: string, limits: FieldLimits): string {
  const value = body[name];
  if (typeof value !== 'string' || value.trim() === '')
    throw new RelayError(name === 'server_public_key' ? 'invalid_public_key' : 'invalid_request', { field: name });
  return stringField(body, name, limits.keyChars);
}

function protocolFields(body: JsonObject): void {
  if (body.protocol !== undefined && body.protocol !== null && body.protocol !== API_V1_PROTOCOL)
    throw new RelayError('invalid_request', { field: 'protocol' });
  if (body.version !== undefined && body.version !== null && body.version !== 1) throw new RelayError('invalid_request', { field: 'version' });
}

function ciphertext(body: JsonObject, limits: FieldLimits): V1Ciphertext {
  const name = body.ciphertext !== undefined && body.ciphertext !== null ? 'ciphertext' : 'chat_history';
  return {
    ciphertext: stringField(body, name, limits.cipherChars),
    cipherkey: stringField(body, 'cipherkey', limits.cipherChars),
    iv: stringField(body, 'iv', limits.cipherChars),
  };
}

export interface AdmissionBody extends V1Ciphertext {
  nodeKey: string;
  clientKey: string;
  requestId: string;
  cancelToken: string | null;
}

/** POST /api/v1/relay/requests */
export function admissionBody(raw: unknown, limits: FieldLimits): AdmissionBody {
  const body = requireObject(raw);
  rejectPlaintext(body);
  rejectUnexpected(body, ['server_public_key']);
  protocolFields(body);
  const cancel = body.cancel_token;
  if (cancel !== undefined && cancel !== null && (typeof cancel !== 'string' || cancel === '' || cancel.length > MAX_TOKEN_CHARS)) {
    throw new RelayError('invalid_request', { field: 'cancel_token' });
  }
  return {
    nodeKey: publicKey(body, 'server_public_key', limits),
    clientKey: publicKey(body, 'client_public_key', limits),
    requestId: requestId(body),
    cancelToken: typeof cancel === 'string' ? cancel : null,
    ...ciphertext(body, limits),
  };
}

/**
 * POST /api/v1/relay/responses. Upstream nodes send neither their key nor their credential
 * here; a node that does (our demo node) names itself and proves it, which binds it.
 */
export function responseBody(
  raw: unknown,
  limits: FieldLimits,
): { clientKey: string; requestId: string; response: V1Ciphertext; nodeKey: string | null; credential: string | null } {
  const body = requireObject(raw);
  rejectPlaintext(body);
  rejectUnexpected(body, ['server_public_key', 'control_credential']);
  protocolFields(body);
  const nodeKey = body.server_public_key === undefined || body.server_public_key === null ? null : publicKey(body, 'server_public_key', limits);
  return {
    clientKey: publicKey(body, 'client_public_key', limits),
    requestId: requestId(body),
    response: ciphertext(body, limits),
    nodeKey,
    credential: secret(body, 'control_credential'),
  };
}

/** POST /api/v1/relay/progress: exactly the progress fields, all non-empty strings, version 1. */
export function progressBody(raw: unknown, limits: FieldLimits) {
  const body = requireObject(raw);
  const names = Object.keys(body);
  if (names.length !== PROGRESS_FIELDS.length || !PROGRESS_FIELDS.every((name) => Object.hasOwn(body, name))) {
    throw new RelayError('invalid_progress', {
      field: names.find((n) => !(PROGRESS_FIELDS as readonly string[]).includes(n)) ?? PROGRESS_FIELDS.find((n) => !Object.hasOwn(body, n)),
    });
  }
  if (body.protocol !== API_V1_PROTOCOL || body.version !== 1)
    throw new RelayError('invalid_progress', { field: body.protocol !== API_V1_PROTOCOL ? 'protocol' : 'version' });
  const text = (name: string, max: number): string => {
    const value = body[name];
    if (typeof value !== 'string' || value === '') throw new RelayError('invalid_progress', { field: name });
    if (value.length > max) throw new RelayError('field_too_long', { field: name });
    return value;
  };
  const credential = text('control_credential', MAX_TOKEN_CHARS);
  return {
    nodeKey: text('server_public_key', limits.keyChars),
    clientKey: text('client_public_key', limits.keyChars),
    requestId: requestId(body),
    credential,
    record: { ciphertext: text('ciphertext', limits.cipherChars), cipherkey: text('cipherkey', limits.cipherChars), iv: text('iv', limits.cipherChars) },
  };
}

/** A query parameter given at most once, at most `max` characters. */
export function queryParam(query: unknown, name: string, max: number): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RelayError('invalid_request', { field: name });
  if (value.length > max) throw new RelayError('field_too_long', { field: name });
  return value;
}
