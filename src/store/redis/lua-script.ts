// One Lua script called by its SHA1: EVALSHA, and after a NOSCRIPT (a primary that restarted, a
// replica just promoted, a new cluster node: its script cache is empty) one EVAL of the source.
// NOSCRIPT means the script did not run, so the EVAL cannot apply a transition twice.
//
// Not ioredis's defineCommand: every script defined that way is copied onto each Pipeline
// ioredis builds, and with auto-pipelining it builds one per batch of commands, so thirty-odd
// defined scripts cost the relay a few per cent of its CPU on every Redis call
// (bench/README.md, "Relay CPU per Redis call"). EVALSHA and EVAL are plain commands; they are
// auto-pipelined and routed by their first key on Cluster like any other.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

type Arg = string | number | Buffer;
type Evaluator = {
  evalsha(sha: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  eval(source: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
};

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script with `numKeys` keys first in `args`; rejects with what Redis said. */
  async run(redis: RedisClient, numKeys: number, ...args: Arg[]): Promise<unknown> {
    const client = redis as unknown as Evaluator;
    try {
      return await client.evalsha(this.sha, numKeys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, numKeys, ...args);
    }
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
