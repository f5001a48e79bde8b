// The flooder as its own process, so its CPU does not share an event loop with the honest
// client being measured. Usage (from bench/abuse/flood.ts):
//   node --import tsx bench/abuse/flood-worker.ts <relayUrl> <target> <concurrency> <maxMs> <address>[,<address>...]
// Prints one JSON line with its statistics when it stops (after maxMs, or on SIGTERM).
import { generateKeyPair } from '../../src/crypto/index.js';
import { startFlood, type FloodTarget } from './peers.js';

const [relayUrl, target, concurrency, maxMs, addresses] = process.argv.slice(2);
if (relayUrl === undefined || target === undefined || addresses === undefined) {
  process.stderr.write('usage: flood-worker.ts <relayUrl> <target> <concurrency> <maxMs> <addresses>\n');
  process.exit(2);
}
const flood = startFlood({
  relayUrl,
  target: target as FloodTarget,
  addresses: addresses.split(','),
  concurrency: Math.min(Number(concurrency), 512),
  clientKey: (await generateKeyPair()).publicKeyWire,
  maxMs: Math.min(Number(maxMs), 120_000),
  maxRequests: 2_000_000,
});
let done = false;
const finish = async (): Promise<void> => {
  if (done) return;
  done = true;
  process.stdout.write(`${JSON.stringify(await flood.stop())}\n`);
  process.exit(0);
};
process.on('SIGTERM', () => void finish());
setTimeout(() => void finish(), Math.min(Number(maxMs), 120_000)).unref();
