#!/usr/bin/env node
// tokenplace-relay serve [--host H] [--port P] [--demo-node]   run the relay
// tokenplace-relay node --relay URL [--token T]                 run the demo compute node
// tokenplace-relay doctor URL [--ca FILE] [--token T] [--json]   check a deployment end to end
// Help goes to stdout with exit 0; a usage mistake is one line plus the usage on stderr, exit 2;
// a port or host that cannot be listened on is one line naming the flag and variable, exit 1.
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './core/logger.js';
import { webRoutes } from './page/routes.js';
import { logProcessWarnings } from './core/process-warnings.js';
import { exitOnSignals, ListenError, startServer } from './server.js';

export const USAGE = `Usage: tokenplace-relay <command> [options]

Commands:
  serve [--host HOST] [--port PORT] [--demo-node]    run the relay (the default command)
  node --relay URL [--token TOKEN] [--model ID]      run the demo compute node against a relay
  doctor URL [--ca FILE] [--token TOKEN] [--json]    check a deployment end to end
  help [COMMAND]                                     show this help, or a command's

Run tokenplace-relay <command> --help for a command's options.`;

export const SERVE_USAGE = `Usage: tokenplace-relay serve [--host HOST] [--port PORT] [--demo-node]

Runs the relay: the legacy and API v1 relay routes, /livez, /healthz, /metrics and the chat page.
Every setting is an environment variable (README "Configuration"); the flags override two of them.

  --host HOST        address to listen on (env RELAY_HOST, default 127.0.0.1; 0.0.0.0 for all)
  --port PORT        port to listen on (env RELAY_PORT, default 5010)
  --demo-node        also run a demo compute node in this process, so the chat page answers
  -h, --help         show this help

Other variables often set: TOKENPLACE_METRICS_PORT (serve /metrics on its own port),
TOKENPLACE_RELAY_STORE=redis with TOKENPLACE_REDIS_URL (several replicas),
TOKEN_PLACE_RELAY_SERVER_TOKEN (token compute nodes must send), TOKENPLACE_LOG_LEVEL.
Stops on SIGTERM or SIGINT after a graceful drain.`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage = USAGE,
  ) {
    super(message);
  }
}

/** How long `serve --demo-node` waits for its node to register before printing the URL anyway. */
const DEMO_READY_WAIT_MS = 15_000;

/** Where the relay port came from, for the message when it cannot be used. */
function portSource(cliPort: string | undefined, env: NodeJS.ProcessEnv): string {
  if (cliPort !== undefined) return 'choose another with --port PORT';
  if (env.RELAY_PORT?.trim()) return 'RELAY_PORT is set to it: choose another with RELAY_PORT=PORT or --port PORT';
  return 'choose another with --port PORT or RELAY_PORT=PORT';
}

function listenFailure(err: ListenError, cliPort: string | undefined, cliHost: string | undefined, env: NodeJS.ProcessEnv): string {
  const where = `${err.host}:${err.port}`;
  if (err.listener === 'metrics') {
    const what =
      err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EACCES' ? 'needs privileges this process lacks' : `cannot be listened on (${err.code})`;
    return `metrics port ${where} ${what}: choose another with TOKENPLACE_METRICS_PORT=PORT, or unset it to serve /metrics on the relay port`;
  }
  if (err.code === 'EADDRINUSE') return `port ${where} is already in use (is another relay running?); ${portSource(cliPort, env)}`;
  if (err.code === 'EACCES') return `port ${where} needs privileges this process lacks (ports below 1024); ${portSource(cliPort, env)}`;
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    const how = cliHost !== undefined ? '--host HOST' : 'RELAY_HOST=HOST or --host HOST';
    return `cannot listen on ${err.host}: no such address on this machine (${err.code}); choose another with ${how}, e.g. 127.0.0.1 or 0.0.0.0`;
  }
  return `cannot listen on ${where} (${err.code}): ${err.message}`;
}

/**
 * Writes through the logger's own stream, so the text comes after every line logged before it:
 * pino writes asynchronously, and a direct process.stdout.write can overtake its queued lines.
 */
function writeAfterLogs(logger: Logger, text: string): void {
  const stream = (logger as unknown as Record<symbol, { write(chunk: string): unknown } | undefined>)[pino.symbols.streamSym];
  (stream ?? process.stdout).write(text);
}

async function serve(argv: string[]): Promise<number | 'running'> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'demo-node': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`serve: ${(err as Error).message}`, SERVE_USAGE);
  }
  if (values.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig(process.env, { host: values.host, port: values.port });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tokenplace-relay: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  logProcessWarnings(logger);
  // The chat page is part of the relay: the browser is one of its two ends.
  let relay;
  try {
    relay = await startServer({ config, logger, plugins: [webRoutes] });
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`tokenplace-relay: ${listenFailure(err, values.port, values.host, process.env)}\n`);
      return 1;
    }
    throw err;
  }
  logger.info({ url: relay.url, store: config.store, legacy_routes: config.legacyRoutes, token_required: config.serverTokens.length > 0 }, 'relay.listening');

  let stopDemo = async (): Promise<void> => {};
  if (values['demo-node']) {
    const { startDemoNode } = await import('./node/demo-node.js');
    // The default models, so the chat page (which asks for the default model) reaches it.
    const node = await startDemoNode({ relayUrl: relay.url, token: config.serverTokens[0], protocol: 'v1', logger });
    stopDemo = () => node.stop();
    exitOnSignals(relay, logger, () => stopDemo());
    // The URL is the last thing printed at start: after the node's registration lines, so it
    // does not scroll away and the page answers once it is opened.
    let waited: ReturnType<typeof setTimeout> | undefined;
    const registered = await Promise.race([
      node.ready.then(() => true),
      new Promise<boolean>((resolve) => (waited = setTimeout(() => resolve(false), DEMO_READY_WAIT_MS))),
    ]);
    clearTimeout(waited);
    const note = registered ? '' : '  (the demo node has not registered yet: see the log lines above)\n';
    writeAfterLogs(
      logger,
      `\n  token.place relay with a demo compute node is running. Ctrl-C stops it.\n${note}  Open ${relay.url}/ in your browser to chat.\n\n`,
    );
    return 'running';
  }
  exitOnSignals(relay, logger, () => stopDemo());
  return 'running';
}

async function help(topic: string | undefined): Promise<number> {
  if (topic === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (topic === 'serve') return serve(['--help']) as Promise<number>;
  if (topic === 'node' || topic === 'doctor') return main([topic, '--help']) as Promise<number>;
  throw new UsageError(`unknown command: ${topic}`);
}

async function main(argv: string[]): Promise<number | 'running'> {
  const [command, ...rest] = argv;
  if (command === 'serve' || command === undefined) return serve(rest);
  // `tokenplace-relay --port 5011` reads as serve with flags.
  if (command.startsWith('--') && command !== '--help') return serve(argv);
  if (command === 'node') {
    const { runNodeCommand } = await import('./node/node-command.js');
    return runNodeCommand(rest);
  }
  if (command === 'doctor') {
    const { runDoctorCommand } = await import('./doctor/command.js');
    return runDoctorCommand(rest);
  }
  if (command === 'help' || command === '--help' || command === '-h') return help(command === 'help' ? rest[0] : undefined);
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    // A running relay keeps the process alive; its signal handlers decide the exit code.
    if (code !== 'running') process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`tokenplace-relay: ${err.message}\n\n${err.usage}\n`);
      process.exit(2);
    }
    process.stderr.write(`tokenplace-relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
