// The one place where errors become HTTP: catalogue errors keep their status and code, framework
// errors (bad JSON, wrong content type, oversized body, unknown route, wrong method) are mapped
// into the catalogue, and anything unexpected is a logged 500 with a JSON body, never HTML.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RelayError, StoreUnavailableError, errorBody, isRelayError, type ErrorCode } from '../core/errors.js';

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

function toRelayError(error: FastifyError | Error): RelayError {
  if (isRelayError(error)) return error;
  if (error instanceof StoreUnavailableError) return new RelayError('store_unavailable');
  const fe = error as FastifyError;
  const mapped = fe.code === undefined ? undefined : FRAMEWORK_CODES[fe.code];
  if (mapped !== undefined) return new RelayError(mapped);
  if (fe.validation !== undefined) return new RelayError('invalid_request');
  // JSON parse failures (SyntaxError, prototype poisoning) surface as 400s from the parser.
  if (fe.statusCode === 400) return new RelayError('malformed_json');
  if (fe.statusCode === 413) return new RelayError('body_too_large');
  if (fe.statusCode === 415) return new RelayError('unsupported_media_type');
  return new RelayError('internal_error');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: RelayError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  const style = request.routeOptions.config?.errorStyle ?? 'structured';
  return reply.code(error.status).type('application/json; charset=utf-8').send(errorBody(error, style));
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function installErrorHandling(app: FastifyInstance): void {
  // Unknown path → 404, known path with another method → 405 with Allow.
  const routeMiss = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((method) => app.hasRoute({ url: path, method }));
    if (allowed.length > 0) {
      reply.header('allow', [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', '));
      return sendError(request, reply, new RelayError('method_not_allowed'));
    }
    return sendError(request, reply, new RelayError('route_not_found'));
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A body that fails to parse on a route that does not exist is a routing error first.
    if (request.is404) return routeMiss(request, reply);
    const relayError = toRelayError(error);
    if (relayError.status >= 500 && relayError.code === 'internal_error') {
      // The stack and message, never the body: the relay stays blind in its logs too.
      request.log.error(
        { err: { type: error.name, message: error.message, stack: error.stack }, route: request.routeOptions.config?.name, request_id: request.id },
        'request.failed',
      );
    }
    return sendError(request, reply, relayError);
  });

  app.setNotFoundHandler(routeMiss);
  // Only JSON bodies are accepted; Fastify's built-in text/plain parser would let a text body
  // through to the handlers (relay.py answers 415 here).
  app.removeContentTypeParser('text/plain');
}
