// The API v1 wire as the relay, the demo node, the doctor's probe and the chat page speak it
// (protocol.md §E): the protocol tag every envelope carries and the shapes of the answers the
// relay builds. One module, imported by all four, so the tag and the field names cannot drift.
// Everything here travels as JSON; ciphertext fields are opaque base64 text.

/** The protocol tag of every API v1 envelope (requests, work items, answers, progress). */
export const API_V1_PROTOCOL = 'tokenplace_api_v1_relay_e2ee';
export const API_V1_VERSION = 1;

/** The three ciphertext fields; `chat_history` repeats `ciphertext` for upstream's older readers. */
export interface CiphertextWire {
  chat_history: string;
  ciphertext: string;
  cipherkey: string;
  iv: string;
}

/** Seconds left before the request's absolute deadline (both names upstream reads). */
export interface DeadlineWire {
  request_deadline_remaining_seconds?: number;
  request_ttl_seconds?: number;
}

/** A poll that found nothing: come back after `next_ping_in_x_seconds`. */
export interface IdlePollWire {
  message: 'No requests available';
  next_ping_in_x_seconds: number;
  poll_wait_seconds: number;
}

/** A poll that claimed a request: the client's envelope (never its cancel token) and its deadline. */
export interface WorkItemWire extends CiphertextWire, DeadlineWire {
  protocol: typeof API_V1_PROTOCOL;
  version: typeof API_V1_VERSION;
  request_id: string;
  client_public_key: string;
  next_ping_in_x_seconds: number;
  poll_wait_seconds: number;
}

/** The node's latest encrypted progress record, handed to a waiting client. */
export interface EncryptedProgressWire {
  client_public_key: string;
  request_id: string | null;
  protocol: typeof API_V1_PROTOCOL;
  version: typeof API_V1_VERSION;
  ciphertext: string;
  cipherkey: string;
  iv: string;
}

/** A retrieve before the answer (HTTP 202). */
export interface PendingWire extends DeadlineWire {
  status: 'pending';
  encrypted_progress?: EncryptedProgressWire;
}

/** A retrieve that found the answer. */
export interface AnswerWire extends CiphertextWire {
  client_public_key: string;
  request_id: string;
  protocol: typeof API_V1_PROTOCOL;
  version: typeof API_V1_VERSION;
}
