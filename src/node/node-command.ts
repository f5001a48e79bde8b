// `tokenplace-relay node --relay URL [--token T] [--protocol legacy|v1] [--name N] [--model ID]`
// Runs the demo compute node against a relay until SIGINT/SIGTERM. Against a real relay it must
// not take real users' requests (its answers are canned), so by default it registers only for
// DEMO_MODEL_ID, which no client asks for unless it means to reach a demo node.
import pino from 'pino';
import { keyFingerprint } from '../core/fingerprint.js';
import { logProcessWarnings } from '../core/process-warnings.js';
import { startDemoNode } from './demo-node.js';
import { DEMO_MODEL_ID } from './model.js';

export const NODE_USAGE = `Usage: tokenplace-relay node --relay URL [--token TOKEN] [--protocol legacy|v1] [--name NAME] [--model ID]
                             [--token-delay-ms MS] [--no-sign] [--no-stream]

Runs a demo compute node (a deterministic stand-in for a model, no GPU needed) against a relay,
to check a deployment end to end. Requests and answers are end-to-end encrypted.

  --relay URL        relay base URL, e.g. http://127.0.0.1:5010 (env TOKENPLACE_RELAY_URL)
  --token TOKEN      relay server token, if the relay requires one
                     (env TOKEN_PLACE_RELAY_SERVER_TOKEN)
  --protocol P       v1 (API v1 relay routes, default) or legacy (/sink, /source)
  --model ID         API v1 model id to serve; repeat or comma-separate for several
                     (env TOKENPLACE_NODE_MODELS; default ${DEMO_MODEL_ID}, which only a client
                     asking for it reaches, so real users are never routed to this node)
  --name NAME        name shown in log lines (default: demo)
  --token-delay-ms MS  API v1: time to generate each word of the answer (default 30;
                     env TOKENPLACE_DEMO_TOKEN_DELAY_MS); 0 answers at once
  --no-sign          API v1: do not sign answers (and do not advertise answer_signing)
  --no-stream        API v1: do not stream answers (and do not advertise streaming)
  -h, --help         show this help

Try it: a client asks GET /api/v1/relay/servers/next?model=${DEMO_MODEL_ID}. The legacy protocol
has no model ids: a legacy relay hands any client's request to any node, this one included.

Stops cleanly on SIGINT or SIGTERM (an API v1 node unregisters first).`;

interface ParsedArgs {
  relay?: string;
  token?: string;
  protocol: 'legacy' | 'v1';
  name?: string;
  tokenDelayMs: number;
  sign: boolean;
  stream: boolean;
  /** API v1 model ids to register for (unset: DEMO_MODEL_ID only). */
  models?: string[];
  help: boolean;
}

const DEFAULT_TOKEN_DELAY_MS = 30;

function delayMs(v: string, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n > 60_000) throw new Error(`${what} must be a whole number of milliseconds (0-60000), not ${v}`);
  return n;
}

/** `a,b , c` → ['a', 'b', 'c']; empty items are a mistake, not a wildcard. */
function modelList(flag: string, value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '')) throw new Error(`${flag} needs model ids separated by commas, got ${JSON.stringify(value)}`);
  return ids;
}

export function parseNodeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const args = argv[0] === 'node' ? argv.slice(1) : [...argv];
  const out: ParsedArgs = { protocol: 'v1', help: false, tokenDelayMs: DEFAULT_TOKEN_DELAY_MS, sign: true, stream: true };
  const envDelay = env.TOKENPLACE_DEMO_TOKEN_DELAY_MS?.trim();
  if (envDelay) out.tokenDelayMs = delayMs(envDelay, 'TOKENPLACE_DEMO_TOKEN_DELAY_MS');
  const envRelay = env.TOKENPLACE_RELAY_URL?.trim();
  const envModels = env.TOKENPLACE_NODE_MODELS?.trim();
  let modelsFromFlags: string[] | undefined;
  const envToken = env.TOKEN_PLACE_RELAY_SERVER_TOKEN?.trim();
  if (envRelay) out.relay = envRelay;
  if (envToken) out.token = envToken;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        out.help = true;
        break;
      case '--relay':
        out.relay = value();
        break;
      case '--token':
        out.token = value().trim();
        break;
      case '--protocol': {
        const p = value();
        if (p !== 'legacy' && p !== 'v1') throw new Error(`--protocol must be legacy or v1, not ${p}`);
        out.protocol = p;
        break;
      }
      case '--name':
        out.name = value();
        break;
      case '--token-delay-ms':
        out.tokenDelayMs = delayMs(value(), '--token-delay-ms');
        break;
      case '--no-sign':
        out.sign = false;
        break;
      case '--no-stream':
        out.stream = false;
        break;
      case '--model':
        modelsFromFlags = [...(modelsFromFlags ?? []), ...modelList('--model', value())];
        break;
      default:
        throw new Error(`unknown argument: ${arg}`);
    }
  }
  const models = modelsFromFlags ?? (envModels ? modelList('TOKENPLACE_NODE_MODELS', envModels) : undefined);
  if (models !== undefined) out.models = [...new Set(models)];
  return out;
}

export async function runNodeCommand(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseNodeArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${NODE_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${NODE_USAGE}\n`);
    return 0;
  }
  if (!args.relay) {
    process.stderr.write(`--relay is required\n\n${NODE_USAGE}\n`);
    return 2;
  }
  let url: URL;
  try {
    url = new URL(args.relay);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    process.stderr.write(`--relay must be an http(s) URL, got ${args.relay}\n`);
    return 2;
  }
  const logger = pino({ name: 'tokenplace-demo-node', level: process.env.LOG_LEVEL ?? 'info' });
  logProcessWarnings(logger);
  const models = args.models ?? [DEMO_MODEL_ID];
  const node = await startDemoNode({
    relayUrl: args.relay,
    token: args.token,
    protocol: args.protocol,
    logger,
    name: args.name,
    modelIds: models,
    tokenDelayMs: args.tokenDelayMs,
    signAnswers: args.sign,
    stream: args.stream,
  });
  if (args.protocol === 'legacy') {
    logger.warn({ event: 'node.legacy_any_client' }, 'the legacy protocol has no model ids: any client of this relay may be handed to this demo node');
  }
  logger.info(
    { event: 'node.ready_to_serve', key_fingerprint: keyFingerprint(node.publicKey), ...(args.protocol === 'v1' ? { model_ids: models } : {}) },
    'demo node running; stop with Ctrl-C',
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  logger.info({ event: 'node.signal', signal }, 'stopping');
  await node.stop();
  return 0;
}
