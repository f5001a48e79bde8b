// A deterministic stand-in for a language model, so a compute node can be run and tested
// without a GPU or weights. It answers from the conversation it is given: it counts the user
// turns, quotes (a summary of) the last user message and recalls the first one, so a reply
// shows that the whole history reached the node.

export interface ChatMessage {
  role: string;
  content: string;
}

export const DEMO_MODEL_ID = 'tokenplace-demo';

/** True when `value` is a non-empty list of {role, content} with string fields. */
export function isChatHistory(value: unknown): value is ChatMessage[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((m) => m !== null && typeof m === 'object' && typeof (m as ChatMessage).role === 'string' && typeof (m as ChatMessage).content === 'string')
  );
}

function summarize(text: string, max = 120): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= max) return oneLine;
  return `${oneLine.slice(0, max - 1).trimEnd()}…`;
}

function countWords(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/** The demo answer to a conversation (deterministic). */
export function demoReply(messages: readonly ChatMessage[]): string {
  const userTurns = messages.filter((m) => m.role === 'user');
  const last = userTurns[userTurns.length - 1];
  if (!last) return 'Demo node: there is no user message to answer.';
  const words = countWords(last.content);
  const parts = [`Demo node, turn ${userTurns.length}.`, `You said: “${summarize(last.content)}” (${words} ${words === 1 ? 'word' : 'words'}).`];
  const first = userTurns[0];
  if (userTurns.length > 1 && first) parts.push(`Your first message was: “${summarize(first.content, 60)}”.`);
  parts.push('This answer was encrypted on the compute node and decrypted only by you.');
  return parts.join(' ');
}

/** The same answer cut into `n` pieces for the streaming path (joined they equal demoReply). */
export function demoReplyChunks(messages: readonly ChatMessage[], n = 4): string[] {
  const text = demoReply(messages);
  const words = text.split(/(?<= )/);
  const per = Math.max(1, Math.ceil(words.length / n));
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += per) chunks.push(words.slice(i, i + per).join(''));
  return chunks;
}
