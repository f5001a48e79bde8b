// The chat page: keys in the page, API v1 relay routes, conversation resent every turn.
import { decryptWith, encryptFor, generateClientKeys, importNodeKey, type ClientKeys } from './e2ee.js';
import { cancel, pickNode, PROTOCOL, randomId, relayStatus, submit, UserFacingError, waitForReply } from './relay.js';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const log = $<HTMLElement>('log');
const form = $<HTMLFormElement>('composer');
const prompt = $<HTMLTextAreaElement>('prompt');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const newChat = $<HTMLButtonElement>('new-chat');
const keyState = $<HTMLElement>('key-state');
const statusBox = $<HTMLElement>('relay-status');
const statusText = $<HTMLElement>('status-text');

const history: Turn[] = [];
let keys: ClientKeys | null = null;
let busy: AbortController | null = null;

const keysReady: Promise<ClientKeys> = generateClientKeys().then(
  (k) => {
    keys = k;
    keyState.textContent = 'Encryption keys ready (made in this page).';
    document.body.dataset.keys = 'ready';
    return k;
  },
  (err: unknown) => {
    keyState.textContent = 'This browser cannot make encryption keys (WebCrypto is missing or blocked), so chat is not possible.';
    send.disabled = true;
    throw err;
  },
);

function scrollToEnd(): void {
  log.scrollTop = log.scrollHeight;
}

function addMessage(kind: 'user' | 'assistant' | 'error' | 'pending', text: string): HTMLElement {
  document.getElementById('intro')?.remove();
  const item = document.createElement('article');
  item.className = `msg ${kind}`;
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = kind === 'user' ? 'You' : kind === 'error' ? 'Problem' : 'Compute node';
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = text;
  item.append(who, body);
  if (kind === 'pending') item.setAttribute('aria-busy', 'true');
  log.append(item);
  scrollToEnd();
  return item;
}

function setBusy(controller: AbortController | null): void {
  busy = controller;
  send.disabled = controller !== null;
  stop.hidden = controller === null;
  send.textContent = controller ? 'Sending…' : 'Send';
}

async function ask(text: string): Promise<void> {
  // A new send supersedes the previous failed attempt: its error no longer describes the chat.
  for (const stale of log.querySelectorAll('.msg.error, .msg.user.failed')) stale.remove();
  const controller = new AbortController();
  setBusy(controller);
  history.push({ role: 'user', content: text });
  const userEl = addMessage('user', text);
  const pending = addMessage('pending', 'Encrypting and looking for a compute node…');
  const pendingBody = pending.querySelector('.body') as HTMLElement;
  const requestId = randomId();
  const cancelToken = randomId();
  let submitted = false;
  let clientKey = '';
  try {
    const k = keys ?? (await keysReady);
    clientKey = k.publicKeyWire;
    let node = await pickNode(controller.signal);
    let nodeKey = await importNodeKey(node.serverPublicKey);
    const envelope = {
      protocol: PROTOCOL,
      version: 1,
      request_id: requestId,
      client_public_key: clientKey,
      api_v1_request: { model: node.model, messages: history.slice(), options: { max_tokens: 512 } },
    };
    let enc = await encryptFor(nodeKey, JSON.stringify(envelope));
    const payload = () => ({
      server_public_key: node.serverPublicKey,
      client_public_key: clientKey,
      request_id: requestId,
      cancel_token: cancelToken,
      chat_history: enc.ciphertext,
      cipherkey: enc.cipherkey,
      iv: enc.iv,
    });
    let admitted;
    try {
      admitted = await submit(payload(), controller.signal);
    } catch (err) {
      // The chosen node vanished between picking and sending: pick again once.
      if (!(err instanceof UserFacingError) || err.kind !== 'no_node') throw err;
      node = await pickNode(controller.signal);
      nodeKey = await importNodeKey(node.serverPublicKey);
      envelope.api_v1_request.model = node.model;
      enc = await encryptFor(nodeKey, JSON.stringify(envelope));
      admitted = await submit(payload(), controller.signal);
    }
    submitted = true;
    pendingBody.textContent = 'Waiting for the compute node to answer…';
    const reply = await waitForReply(clientKey, requestId, admitted.deadline, controller.signal);
    const plaintext = await decryptWith(k, { ciphertext: reply.chat_history, cipherkey: reply.cipherkey, iv: reply.iv });
    const answer = readEnvelope(plaintext, requestId, clientKey);
    pending.remove();
    history.push({ role: 'assistant', content: answer });
    addMessage('assistant', answer);
  } catch (err) {
    pending.remove();
    history.pop(); // this turn did not happen; the text goes back into the box
    userEl.classList.add('failed');
    userEl.setAttribute('aria-label', 'Not delivered');
    if (submitted && controller.signal.aborted) void cancel(clientKey, requestId, cancelToken);
    else if (submitted && err instanceof UserFacingError && err.kind === 'timeout') void cancel(clientKey, requestId, cancelToken);
    const message = err instanceof UserFacingError ? err.message : 'Something went wrong while encrypting or decrypting this message. Please try again.';
    if (!(err instanceof UserFacingError)) console.error(err);
    const el = addMessage('error', message);
    el.dataset.kind = err instanceof UserFacingError ? err.kind : 'internal';
    if (!prompt.value) prompt.value = text;
  } finally {
    setBusy(null);
    prompt.focus();
    void refreshStatus();
  }
}

function readEnvelope(plaintext: string, requestId: string, clientKey: string): string {
  let env: unknown;
  try {
    env = JSON.parse(plaintext);
  } catch {
    throw new UserFacingError('protocol', 'The answer could not be read (it was not valid JSON after decryption).');
  }
  const e = env as { protocol?: unknown; version?: unknown; request_id?: unknown; client_public_key?: unknown; api_v1_response?: unknown };
  if (!e || e.protocol !== PROTOCOL || e.version !== 1 || e.request_id !== requestId) {
    throw new UserFacingError('protocol', 'The answer does not belong to this message, so it was ignored.');
  }
  if (e.client_public_key !== undefined && e.client_public_key !== clientKey) {
    throw new UserFacingError('protocol', 'The answer was addressed to a different key, so it was ignored.');
  }
  const r = e.api_v1_response as { message?: { content?: unknown }; error?: { message?: unknown; code?: unknown } } | undefined;
  if (r?.error) {
    const detail = typeof r.error.message === 'string' ? ` It said: ${r.error.message}` : '';
    throw new UserFacingError('node_error', `The compute node could not answer this message.${detail}`);
  }
  const content = r?.message?.content;
  if (typeof content !== 'string') throw new UserFacingError('protocol', 'The answer had no text in it.');
  return content;
}

// ---- relay status ----------------------------------------------------------------------------

let statusTimer: number | undefined;

async function refreshStatus(): Promise<void> {
  const s = await relayStatus();
  if (s === null) {
    statusBox.dataset.state = 'down';
    statusText.textContent = 'Relay unreachable';
  } else if (s.draining) {
    statusBox.dataset.state = 'warn';
    statusText.textContent = 'Relay restarting (draining)';
  } else if (s.nodes === 0) {
    statusBox.dataset.state = 'warn';
    statusText.textContent = 'No compute node online';
  } else {
    statusBox.dataset.state = s.nodes === null ? 'unknown' : 'ok';
    const nodes = s.nodes === null ? 'Relay online' : `${s.nodes} ${s.nodes === 1 ? 'node' : 'nodes'} online`;
    const queue = s.queue === null ? '' : ` · ${s.queue} queued`;
    statusText.textContent = nodes + queue;
  }
}

function scheduleStatus(): void {
  window.clearTimeout(statusTimer);
  void refreshStatus().finally(() => {
    statusTimer = window.setTimeout(scheduleStatus, document.hidden ? 15_000 : 3_000);
  });
}

// ---- wiring ----------------------------------------------------------------------------------

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = prompt.value.trim();
  if (!text || busy) return;
  prompt.value = '';
  void ask(text);
});

prompt.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    form.requestSubmit();
  } else if (ev.key === 'Escape' && busy) {
    busy.abort();
  }
});

stop.addEventListener('click', () => {
  busy?.abort();
  prompt.focus();
});

newChat.addEventListener('click', () => {
  busy?.abort();
  history.length = 0;
  log.replaceChildren();
  const note = document.createElement('p');
  note.className = 'note';
  note.textContent = 'New conversation. Earlier messages are forgotten by this page; the relay never had them in readable form.';
  log.append(note);
  prompt.focus();
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) scheduleStatus();
});

scheduleStatus();
prompt.focus();
