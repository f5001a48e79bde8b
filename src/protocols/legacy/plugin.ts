// The legacy protocol as one plugin: its routes and its background expiry.
import type { FastifyInstance } from 'fastify';
import { sweepEvery } from '../../http/sweep.js';
import { legacyRoutes } from './routes.js';

export async function legacyProtocol(app: FastifyInstance): Promise<void> {
  sweepEvery(app, 'store.expire_failed', () => app.relay.legacy.sweep());
  await app.register(legacyRoutes);
}
