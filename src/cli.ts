#!/usr/bin/env node
// tokenplace-relay serve [--host H] [--port P] [--demo-node]   run the relay
// tokenplace-relay node --relay URL [--token T]                 run the demo compute node
// tokenplace-relay doctor URL [--ca FILE] [--token T] [--json]   check a deployment end to end
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './core/logger.js';
import { webRoutes } from './page/routes.js';
import { exitOnSignals, startServer } from './server.js';

const USAGE = `usage:
  tokenplace-relay serve [--host HOST] [--port PORT] [--demo-node]
  tokenplace-relay node --relay URL [--token TOKEN] [--protocol legacy|v1]
  tokenplace-relay doctor URL [--ca FILE] [--token TOKEN] [--timeout SECONDS] [--json]`;

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { host: { type: 'string' }, port: { type: 'string' }, 'demo-node': { type: 'boolean', default: false } },
    strict: true,
  });
  let config;
  try {
    config = loadConfig(process.env, { host: values.host, port: values.port });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tokenplace-relay: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // The chat page is part of the relay: the browser is one of its two ends.
  const relay = await startServer({ config, logger, plugins: [webRoutes] });
  logger.info({ url: relay.url, store: config.store, legacy_routes: config.legacyRoutes, token_required: config.serverTokens.length > 0 }, 'relay.listening');

  let stopDemo = async (): Promise<void> => {};
  if (values['demo-node']) {
    const { startDemoNode } = await import('./node/demo-node.js');
    const node = await startDemoNode({ relayUrl: relay.url, token: config.serverTokens[0], protocol: 'v1', logger });
    stopDemo = () => node.stop();
    process.stdout.write(`\n  token.place relay with a demo compute node is running.\n  Open ${relay.url}/ in your browser to chat. Ctrl-C stops it.\n\n`);
  }
  exitOnSignals(relay, logger, () => stopDemo());
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve' || command === undefined) return serve(rest);
  if (command === 'node') {
    const { runNodeCommand } = await import('./node/node-command.js');
    process.exitCode = await runNodeCommand(rest);
    return;
  }
  if (command === 'doctor') {
    const { runDoctorCommand } = await import('./doctor/command.js');
    process.exitCode = await runDoctorCommand(rest);
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exit(command === '--help' || command === '-h' ? 0 : 2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tokenplace-relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
