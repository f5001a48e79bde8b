// Shared helpers for the API v1 route tests: an in-process relay with a node token, and the
// bodies a HEAD-era node and client send (protocol.md §E.3).
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Config } from '../../../src/config.js';
import { testRelay, type TestRelay } from '../../support/relay-app.js';
import { CAPS } from '../../support/v1-capabilities.js';

export const TOKEN = 'node-token-for-tests';
export const NODE_HEADERS = { 'x-relay-server-token': TOKEN };
export const PROTOCOL = 'tokenplace_api_v1_relay_e2ee';

const wireKey = (name: string) => Buffer.from(`-----BEGIN PUBLIC KEY-----\n${name}\n-----END PUBLIC KEY-----\n`).toString('base64');
export const NODE_A = wireKey('NODE-A');
export const NODE_B = wireKey('NODE-B');
export const CLIENT_A = wireKey('CLIENT-A');
export const CLIENT_B = wireKey('CLIENT-B');

export { CAPS };

export const CAPS_64K = { ...CAPS, active_context_tier: '64k-full', maximum_total_context_tokens: 65536 };

/** Holds off by default (answers at once); pass v1PollWaitSeconds / retrieveHoldMs to test them. */
export function v1Relay(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Promise<TestRelay> {
  return testRelay({ v1PollWaitSeconds: 0, ...overrides }, { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN, ...env });
}

export async function registerNode(relay: TestRelay, key = NODE_A, capabilities: unknown = CAPS): Promise<string> {
  const res = await relay.post('/api/v1/relay/servers/register', { server_public_key: key, capabilities }, NODE_HEADERS);
  assert.equal(res.statusCode, 200, res.body);
  const credential = res.json().control_credential;
  assert.equal(typeof credential, 'string');
  return credential as string;
}

export function requestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server_public_key: NODE_A,
    client_public_key: CLIENT_A,
    request_id: 'req-1',
    protocol: PROTOCOL,
    version: 1,
    ciphertext: 'Y2lwaGVydGV4dA==',
    cipherkey: 'd3JhcHBlZA==',
    iv: 'aXZpdml2aXY=',
    cancel_token: 'cancel-secret-1',
    ...overrides,
  };
}

export function responseBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_public_key: CLIENT_A,
    request_id: 'req-1',
    protocol: PROTOCOL,
    version: 1,
    chat_history: 'YW5zd2Vy',
    cipherkey: 'YW5zd2VyLWtleQ==',
    iv: 'YW5zd2VyLWl2',
    ...overrides,
  };
}

export function progressBody(credential: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server_public_key: NODE_A,
    client_public_key: CLIENT_A,
    request_id: 'req-1',
    control_credential: credential,
    protocol: PROTOCOL,
    version: 1,
    ciphertext: 'cHJvZ3Jlc3M=',
    cipherkey: 'cHJvZ3Jlc3Mta2V5',
    iv: 'cHJvZ3Jlc3MtaXY=',
    ...overrides,
  };
}

export function poll(relay: TestRelay, key = NODE_A, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  return relay.post('/api/v1/relay/servers/poll', { server_public_key: key, ...extra }, NODE_HEADERS);
}

export function control(
  relay: TestRelay,
  credential: string | undefined,
  requestId = 'req-1',
  extra: Record<string, unknown> = {},
  key = NODE_A,
): Promise<LightMyRequestResponse> {
  return relay.post('/api/v1/relay/servers/control', { server_public_key: key, request_id: requestId, control_credential: credential, ...extra }, NODE_HEADERS);
}

export function retrieve(relay: TestRelay, requestId: string | undefined = 'req-1', client = CLIENT_A): Promise<LightMyRequestResponse> {
  return relay.post(
    '/api/v1/relay/responses/retrieve',
    requestId === undefined ? { client_public_key: client } : { client_public_key: client, request_id: requestId },
  );
}
