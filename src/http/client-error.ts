// Errors Node's HTTP parser raises before any route exists for the request (bad Content-Length,
// Content-Length together with Transfer-Encoding, oversized headers, a request not received in
// time): answered as the relay's catalogue errors, in raw HTTP on the socket, then closed.
// Fastify's default writes a body without a stable `code`.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { RelayError, errorBody, type ErrorCode } from '../core/errors.js';
import { guardMetrics, type GuardRefusal } from '../limits/limit-metrics.js';

/** Node's error codes → catalogue codes; every other parser error is malformed framing. */
export function clientErrorCode(nodeCode: string | undefined): ErrorCode & GuardRefusal {
  if (nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (nodeCode === 'HPE_HEADER_OVERFLOW') return 'header_fields_too_large';
  return 'malformed_http_request';
}

/** A complete HTTP/1.1 response carrying a catalogue error, closing the connection. */
export function rawErrorResponse(code: ErrorCode): string {
  const error = new RelayError(code);
  const body = JSON.stringify(errorBody(error, 'structured'));
  const head = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(error.retryAfter === undefined ? [] : [`Retry-After: ${error.retryAfter}`]),
    'Connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

type SocketWithMessage = Socket & { _httpMessage?: { headersSent?: boolean } | null };

/** Fastify's `clientErrorHandler`: bound to the Fastify instance. */
export function relayClientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset peer has nothing to read an answer with.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = clientErrorCode(err.code);
  if (this.hasDecorator('relay')) guardMetrics(this.relay.metrics.registry).refused(code);
  // Like Node's own handler: answer only if the socket is writable and no response of ours has
  // started on it (a half-written response cannot be followed by another).
  const current = (socket as SocketWithMessage)._httpMessage;
  if (socket.writable && (current === undefined || current === null || current.headersSent !== true)) {
    socket.end(rawErrorResponse(code));
    // A peer that never reads must not keep the socket: end() waits for the write to drain.
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy();
}
