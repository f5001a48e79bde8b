// The API v1 protocol as one plugin: its routes and its background expiry (leases, deadlines,
// unfetched answers, tombstones).
import type { FastifyInstance } from 'fastify';
import { sweepEvery } from '../../http/sweep.js';
import { v1Routes } from './routes.js';

export async function v1Protocol(app: FastifyInstance): Promise<void> {
  sweepEvery(app, 'store.expire_v1_failed', () => app.relay.v1.sweep());
  await app.register(v1Routes);
}
