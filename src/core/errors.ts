// One catalogue of every error the relay answers with, mapped to HTTP in one place.
//
// Every error body carries a stable machine-readable `code` at the top level. The `error` field
// keeps the shape the real peers of each route expect (protocol.md §A.3–A.4): a plain string on
// most legacy routes, `{code: <http status>, message}` on /faucet and the token check, and
// `{code: <string>, message}` everywhere else.

export type LegacyShape = 'string' | 'object';

interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  /**
   * Seconds for Retry-After. Every 429 and 503 carries one except
   * `distributed_api_v1_relay_disabled`: a setting of the relay, not a passing condition.
   */
  readonly retryAfter?: number;
  /** Forces a legacy shape whatever the route's default (upstream quirks). */
  readonly shape?: LegacyShape;
}

export const ERROR_CATALOGUE = {
  // Input
  invalid_request: { status: 400, message: 'Invalid request data' },
  malformed_json: { status: 400, message: 'Request body is not valid JSON' },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json' },
  body_too_large: { status: 413, message: 'Request body is too large' },
  // HTTP framing errors Node raises before any route (src/http/client-error.ts)
  malformed_http_request: { status: 400, message: 'The HTTP request is malformed' },
  header_fields_too_large: { status: 431, message: 'Request header fields are too large' },
  request_timeout: { status: 408, message: 'The request was not received in time' },
  field_too_long: { status: 400, message: 'A field exceeds its length limit' },
  streaming_requires_client_key: { status: 400, message: 'Streaming requests require a client public key' },
  invalid_max_batch_size: { status: 400, message: 'Invalid max_batch_size', shape: 'string' },
  invalid_public_key: { status: 400, message: 'Invalid public key', shape: 'string' },
  // Routing
  route_not_found: { status: 404, message: 'No such route' },
  method_not_allowed: { status: 405, message: 'Method not allowed on this route' },
  node_not_found: { status: 404, message: 'Server with the specified public key not found', shape: 'string' },
  stream_session_not_found: { status: 404, message: 'Unknown stream session', shape: 'string' },
  // Auth
  invalid_server_token: { status: 401, message: 'Missing or invalid relay server token', shape: 'object' },
  metrics_unauthorized: { status: 401, message: 'Missing or invalid metrics bearer token' },
  ops_unauthorized: { status: 401, message: 'Missing or invalid operator bearer token (the TOKENPLACE_METRICS_TOKEN value)' },
  ops_forbidden: { status: 403, message: 'The operator view answers cluster-internal addresses only (no TOKENPLACE_METRICS_TOKEN is set for other addresses)' },
  // Capacity
  node_queue_full: { status: 503, message: "The compute node's queue is full", retryAfter: 5 },
  client_queue_full: { status: 429, message: 'Too many queued requests for this client key', retryAfter: 5 },
  relay_queue_full: { status: 503, message: 'The relay queue is full', retryAfter: 5 },
  relay_node_limit: { status: 503, message: 'The relay has reached its compute node limit', retryAfter: 30 },
  response_store_full: { status: 503, message: 'The relay cannot hold more responses', retryAfter: 5 },
  stream_session_full: { status: 503, message: 'The stream session holds too many chunks', retryAfter: 1 },
  // Per-source shares (the source over its share is refused, not the honest one)
  source_node_share_exceeded: { status: 429, message: 'This address holds its share of compute node registrations', retryAfter: 30 },
  source_queue_share_exceeded: { status: 429, message: 'This address holds its share of queued requests (of the relay or of one compute node)', retryAfter: 5 },
  source_response_share_exceeded: { status: 429, message: 'This address holds its share of stored responses', retryAfter: 5 },
  source_stream_share_exceeded: { status: 429, message: 'This address holds its share of stream sessions', retryAfter: 5 },
  source_request_share_exceeded: { status: 429, message: 'This address holds its share of the relay request store', retryAfter: 5 },
  source_bytes_share_exceeded: { status: 429, message: 'This address holds its share of stored bytes', retryAfter: 5 },
  // Legacy answers only where one was asked for
  answer_not_requested: { status: 409, message: 'No claimed request is waiting for an answer for this client key', shape: 'string' },
  chunk_too_large: { status: 413, message: 'The stream chunk is too large', shape: 'string' },
  chunk_too_deep: { status: 400, message: 'The stream chunk is nested too deeply', shape: 'string' },
  relay_draining: { status: 503, message: 'The relay is shutting down; retry on another replica or shortly', retryAfter: 5 },
  rate_limited: { status: 429, message: 'Rate limit exceeded', retryAfter: 1 },
  // Connection and held-poll shares (src/http/connection-guard.ts, src/http/held-polls.ts)
  source_connections_exceeded: { status: 429, message: 'Too many open connections from this source', retryAfter: 5 },
  relay_connection_limit: { status: 503, message: 'The relay has reached its connection limit', retryAfter: 5 },
  source_held_polls_exceeded: { status: 429, message: 'Too many held polls from this source', retryAfter: 2 },
  store_unavailable: { status: 503, message: 'The relay state store is unavailable', retryAfter: 2 },
  // Legacy switch (API v1 era)
  legacy_relay_endpoint_deprecated: { status: 410, message: 'Legacy relay endpoints are disabled on this relay' },
  // API v1 relay protocol (protocol.md §E.3)
  invalid_capabilities: { status: 400, message: 'The compute node capabilities are invalid' },
  invalid_node_label: { status: 400, message: 'node_label must be text of 1-60 printable characters (no control or formatting characters)' },
  invalid_context_tier: { status: 400, message: 'Unsupported context_tier' },
  plaintext_fields_forbidden: { status: 400, message: 'Plaintext relay payload fields are forbidden; send the ciphertext envelope only' },
  unexpected_fields_forbidden: { status: 400, message: 'Unexpected relay payload fields are forbidden; send the ciphertext envelope only' },
  invalid_progress: { status: 400, message: 'Invalid encrypted progress envelope' },
  invalid_control_credential: { status: 403, message: 'Missing or invalid relay server control credential', shape: 'object' },
  node_credential_required: { status: 403, message: 'This compute node is bound to its control credential; send control_credential', shape: 'object' },
  request_not_claimed: { status: 409, message: 'No compute node has claimed this request; only the node it is in flight on may answer it' },
  invalid_cancel_token: { status: 403, message: 'Missing or invalid cancel proof' },
  unknown_request: { status: 404, message: 'Unknown request_id' },
  no_response_available: { status: 404, message: 'No response available for the given public key' },
  request_id_conflict: { status: 409, message: 'This request_id is already in use' },
  request_gone: { status: 410, message: 'Request is no longer waiting for a response' },
  progress_not_active: { status: 410, message: 'Progress request is not active for this owner' },
  no_registered_compute_nodes: { status: 503, message: 'No registered compute nodes are available on this relay', retryAfter: 5 },
  no_matching_compute_node: { status: 503, message: 'No registered compute node matches the requested model and context tier', retryAfter: 5 },
  no_available_capacity: { status: 503, message: 'Every matching compute node is at capacity; retry with backoff', retryAfter: 2 },
  distributed_api_v1_relay_disabled: { status: 503, message: 'Relay-dispatched plaintext API v1 routes are disabled; use the encrypted relay routes' },
  // Last resort
  internal_error: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter: number | undefined;
  /** Name of the offending request field, never its value. */
  readonly field: string | undefined;
  /** Extra members merged into the `error` object (v1 contracts). */
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: { message?: string; field?: string; retryAfter?: number; extra?: Record<string, unknown> } = {}) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    // A catalogued error is an answer, not a bug: its stack is never logged (an unexpected
    // failure is logged with its own stack), and floods of refusals should not pay for one.
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(options.message ?? spec.message);
    Error.stackTraceLimit = stackLimit;
    this.name = 'RelayError';
    this.code = code;
    this.status = spec.status;
    this.retryAfter = options.retryAfter ?? spec.retryAfter;
    this.field = options.field;
    this.extra = options.extra;
  }
}

/**
 * The shared state store cannot be reached (socket down, timeout, server loading). Stores throw
 * it; the HTTP layer answers 503 `store_unavailable` with Retry-After. `reason` is a short word
 * (an errno code, "timeout"), never an address or a credential.
 */
export class StoreUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`store unavailable: ${reason}`);
    this.name = 'StoreUnavailableError';
  }
}

export function isRelayError(value: unknown): value is RelayError {
  return value instanceof RelayError;
}

/** How a route wants its errors shaped: the legacy peers' shapes or the structured default. */
export type ErrorStyle = LegacyShape | 'structured';

export function errorBody(err: RelayError, style: ErrorStyle): Record<string, unknown> {
  const spec: ErrorSpec = ERROR_CATALOGUE[err.code];
  const shape: ErrorStyle = style === 'structured' ? 'structured' : (spec.shape ?? style);
  let error: unknown;
  if (shape === 'string') error = err.message;
  else if (shape === 'object') error = { code: err.status, message: err.message };
  else error = { code: err.code, message: err.message, ...err.extra };
  const body: Record<string, unknown> = { error, code: err.code };
  if (err.field !== undefined) body.field = err.field;
  return body;
}
