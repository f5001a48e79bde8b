// The chat page: keys in the page, API v1 relay routes, conversation resent every turn.
// Conversations are kept in this browser (IndexedDB, transcripts only); the key pair is made
// anew on every load and never stored.
import { decryptWith, encryptFor, generateClientKeys, importNodeKey, type ClientKeys } from './e2ee.js';
import { fingerprint, loadModels, nodeInfoFor } from './nodes.js';
import { describeProgress, newer, readProgress, type Progress } from './progress.js';
import { cancel, pickNode, PROTOCOL, randomId, relayStatus, submit, UserFacingError, waitForReply, type EncryptedReply } from './relay.js';
import { verifySignedText } from './signing.js';
import { deleteConversation, listConversations, saveConversation, titleFor, type Conversation, type StoredTurn } from './store.js';
import { describeRefusals, readSnapshot, SnapshotStream, STREAM_FORMAT } from './stream.js';

/** The answer length the page asks nodes for. */
const MAX_TOKENS = 512;
const CURRENT_KEY = 'tokenplace-current-conversation';

// The one cast from a looked-up element to its known kind, kept in one place.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
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
const modelPicker = $<HTMLSelectElement>('model');
const list = $<HTMLUListElement>('conversations');
const sidebar = $<HTMLElement>('sidebar');
const chatsToggle = $<HTMLButtonElement>('chats-toggle');
const intro = $<HTMLElement>('intro');

// The Markdown renderer is its own chunk, fetched at once but off the page's critical path;
// until it is there an answer shows as plain text (never as markup).
let renderMarkdown: ((text: string) => DocumentFragment) | null = null;
const markdownReady = import('./markdown.js').then(
  (m) => {
    renderMarkdown = m.renderMarkdown;
    document.body.dataset.markdown = 'ready';
  },
  (err: unknown) => console.warn('Markdown renderer unavailable; answers show as plain text', err),
);

let keys: ClientKeys | null = null;
/** The answer streaming in right now, if any. */
let streamView: AnswerView | null = null;
let busy: { controller: AbortController; conversation: Conversation } | null = null;
let conversations: Conversation[] = [];
let current: Conversation = blankConversation();
let storageOk = true;
/** Conversations deleted while their answer was still on its way: never saved again. */
const deleted = new Set<string>();

function remember(id: string | null): void {
  try {
    if (id === null) remember(null);
    else localStorage.setItem(CURRENT_KEY, id);
  } catch {
    // storage refused: the page still works, a reload just opens a new chat
  }
}

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

function blankConversation(): Conversation {
  const now = Date.now();
  return { id: randomId(), title: 'New chat', createdAt: now, updatedAt: now, model: modelPicker?.value ?? '', turns: [] };
}

// ---- persistence -----------------------------------------------------------------------------

async function persist(c: Conversation): Promise<void> {
  if (c.turns.length === 0 || deleted.has(c.id)) return; // an empty chat is not worth a list entry
  c.updatedAt = Date.now();
  if (!conversations.includes(c)) conversations.unshift(c);
  conversations.sort((a, b) => b.updatedAt - a.updatedAt);
  renderList();
  if (!storageOk) return;
  try {
    await saveConversation(c);
  } catch (err) {
    storageOk = false;
    console.warn('conversation not saved', err);
    keyState.textContent = 'This browser does not let the page keep conversations; they last until you leave.';
  }
}

function renderList(): void {
  const items = conversations.map((c) => {
    const li = document.createElement('li');
    li.className = 'conv';
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'conv-open';
    open.textContent = c.title;
    open.dataset.id = c.id;
    if (c === current) open.setAttribute('aria-current', 'true');
    open.addEventListener('click', () => {
      void openConversation(c);
      closeSidebarOnPhone();
    });
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'conv-delete';
    del.textContent = '×';
    del.setAttribute('aria-label', `Delete conversation “${c.title}”`);
    del.title = 'Delete';
    del.addEventListener('click', () => void removeConversation(c));
    li.append(open, del);
    return li;
  });
  list.replaceChildren(...items);
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'conv-empty';
    li.textContent = 'No conversations yet.';
    list.append(li);
  }
}

async function openConversation(c: Conversation): Promise<void> {
  if (c === current) return;
  busy?.controller.abort();
  current = c;
  remember(c.id);
  setModel(c.model);
  renderConversation();
  renderList();
  prompt.focus();
}

async function removeConversation(c: Conversation): Promise<void> {
  deleted.add(c.id);
  if (busy?.conversation === c) busy.controller.abort();
  conversations = conversations.filter((x) => x !== c);
  if (c === current) {
    remember(null);
    current = blankConversation();
    renderConversation();
  }
  renderList();
  prompt.focus();
  if (storageOk) await deleteConversation(c.id).catch(() => undefined);
}

function startNewChat(): void {
  busy?.controller.abort();
  current = blankConversation();
  remember(null);
  renderConversation();
  renderList();
  const note = document.createElement('p');
  note.className = 'note';
  note.textContent = 'New conversation. Earlier ones stay in the list, kept only in this browser; the relay never had them in readable form.';
  log.append(note);
  prompt.focus();
}

// ---- rendering -------------------------------------------------------------------------------

function scrollToEnd(): void {
  log.scrollTop = log.scrollHeight;
}

function renderConversation(): void {
  log.replaceChildren();
  if (current.turns.length === 0) log.append(intro);
  for (const turn of current.turns) {
    if (turn.role === 'user') {
      const el = addMessage('user', turn.content);
      if (turn.stopped && turn.partial) {
        const view = new AnswerView();
        view.showPartial(turn.partial);
        markStopped(el, view.el);
      } else if (turn.stopped) markStopped(el);
    } else {
      new AnswerView().show(turn);
    }
  }
  scrollToEnd();
}

function addMessage(kind: 'user' | 'error' | 'pending', text: string): HTMLElement {
  intro.remove();
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

/** The user stopped waiting: a normal state, said plainly after the message (or the partial answer) it belongs to. */
function markStopped(userEl: HTMLElement, after: HTMLElement = userEl): void {
  userEl.classList.add('stopped-turn');
  const note = document.createElement('article');
  note.className = 'msg stopped';
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = 'Stopped';
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent =
    after === userEl
      ? 'You stopped waiting for this answer. Send again to ask anew.'
      : 'You stopped this answer part way; what came so far is above. Send again to ask anew.';
  note.append(who, body);
  after.after(note);
}

const BADGES = {
  verified: { text: 'Verified', title: 'Signed by the key of the compute node this page chose and encrypted to: nobody else wrote this answer.' },
  unverified: { text: 'Unverified', title: 'This compute node does not sign its answers, so nothing but the relay ties this answer to it.' },
} as const;

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No async clipboard (older browser, or no permission): the selection-and-copy route.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'copy-buffer';
    document.body.append(area);
    area.select();
    let ok: boolean;
    try {
      // The only copy a page without the async clipboard has: deprecated, still supported.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/**
 * One answer on screen. Its text may grow (setText with the text so far); the Markdown is
 * re-rendered at most once a frame, so pieces arriving quickly cost one render each frame.
 */
class AnswerView {
  readonly el = document.createElement('article');
  private readonly body = document.createElement('div');
  private readonly meta = document.createElement('div');
  private text = '';
  private frame = 0;

  get currentText(): string {
    return this.text;
  }

  constructor() {
    intro.remove();
    this.el.className = 'msg assistant';
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = 'Compute node';
    this.body.className = 'body md';
    this.meta.className = 'meta';
    this.el.append(who, this.body, this.meta);
    log.append(this.el);
  }

  /** Streaming: the text so far (state 'streaming'), with the count of refused updates if any. */
  stream(text: string, sequence: number): void {
    this.el.dataset.state = 'streaming';
    this.el.setAttribute('aria-busy', 'true');
    this.el.dataset.sequence = String(sequence);
    this.setText(text);
  }

  refusedUpdates(note: string, count: number): void {
    this.el.dataset.refused = String(count);
    let el = this.el.querySelector<HTMLElement>('.notice.refused');
    if (!el) {
      el = document.createElement('p');
      el.className = 'notice refused';
      el.setAttribute('role', 'note');
      this.meta.before(el);
    }
    el.textContent = note;
  }

  /** What came before the user stopped: kept, marked as partial. */
  showPartial(text: string): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.text = text;
    this.render();
    this.el.dataset.state = 'stopped';
    this.el.removeAttribute('aria-busy');
    const note = document.createElement('span');
    note.className = 'source';
    note.textContent = 'Partial answer (stopped)';
    this.meta.replaceChildren(note);
  }

  setText(text: string): void {
    this.text = text;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    if (renderMarkdown) {
      this.body.replaceChildren(renderMarkdown(this.text));
    } else {
      this.body.textContent = this.text;
      void markdownReady.then(() => renderMarkdown && this.render());
    }
    if (atEnd) scrollToEnd();
  }

  /** The finished answer with where it came from, a copy button and, if cut short, a notice. */
  show(turn: StoredTurn): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.text = turn.content;
    this.render();
    this.el.dataset.state = 'done';
    this.el.removeAttribute('aria-busy');
    this.el.dataset.finish = turn.finishReason ?? '';
    if (turn.finishReason === 'length') {
      const notice = document.createElement('p');
      notice.className = 'notice limit';
      notice.setAttribute('role', 'note');
      notice.textContent = `The answer reached its length limit (this page asks for at most ${MAX_TOKENS} tokens; a node may allow fewer), so it may be cut off. Ask for the rest to continue.`;
      this.meta.before(notice);
    }
    const parts: string[] = [];
    if (turn.node) {
      parts.push(turn.node.label ? `${turn.node.label} · node ${turn.node.fingerprint}` : `node ${turn.node.fingerprint}`);
      parts.push(turn.node.model);
    }
    const source = document.createElement('span');
    source.className = 'source';
    source.textContent = parts.join(' · ');
    if (turn.node) {
      source.title = 'First 16 hex digits of SHA-256 of the key of the compute node that answered';
      source.dataset.fingerprint = turn.node.fingerprint;
    }
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy secondary';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', 'Copy this answer');
    copy.addEventListener('click', () => {
      void copyText(turn.content).then((ok) => {
        copy.textContent = ok ? 'Copied' : 'Copy failed';
        window.setTimeout(() => (copy.textContent = 'Copy'), 2000);
      });
    });
    const items: HTMLElement[] = [];
    if (turn.verification) {
      const badge = document.createElement('span');
      badge.className = `badge ${turn.verification}`;
      badge.dataset.verification = turn.verification;
      badge.textContent = BADGES[turn.verification].text;
      badge.title = BADGES[turn.verification].title;
      items.push(badge);
    }
    items.push(source);
    const left = document.createElement('span');
    left.className = 'origin';
    left.append(...items);
    this.el.dataset.verification = turn.verification ?? '';
    this.meta.replaceChildren(left, copy);
    scrollToEnd();
  }
}

function setBusy(state: typeof busy): void {
  busy = state;
  send.disabled = state !== null;
  stop.hidden = state === null;
  send.textContent = state ? 'Sending…' : 'Send';
}

// ---- one turn --------------------------------------------------------------------------------

async function ask(text: string): Promise<void> {
  // A new send supersedes the previous failed attempt: its error no longer describes the chat.
  for (const stale of log.querySelectorAll('.msg.error, .msg.user.failed')) stale.remove();
  const conv = current;
  const controller = new AbortController();
  setBusy({ controller, conversation: conv });
  const turn: StoredTurn = { role: 'user', content: text };
  conv.turns.push(turn);
  if (conv.turns.length === 1) conv.title = titleFor(text);
  conv.model = modelPicker.value;
  remember(conv.id);
  void persist(conv);
  const userEl = addMessage('user', text);
  const pending = addMessage('pending', 'Encrypting and looking for a compute node…');
  const pendingBody = pending.querySelector('.body')!;
  const onScreen = () => conv === current;
  const requestId = randomId();
  const cancelToken = randomId();
  let submitted = false;
  let clientKey = '';
  try {
    const k = keys ?? (await keysReady);
    clientKey = k.publicKeyWire;
    const messages = conv.turns.map((t) => ({ role: t.role, content: t.content }));
    let node = await pickNode(conv.model, controller.signal);
    let nodeKey = await importNodeKey(node.serverPublicKey);
    // What the node advertises decides whether its answer must be signed and whether to ask
    // for the stream (only a node that offers it is asked: others may refuse unknown fields).
    let info = await nodeInfoFor(node.serverPublicKey);
    const envelope: Record<string, unknown> & { api_v1_request: { model: string; messages: unknown; options: unknown } } = {
      protocol: PROTOCOL,
      version: 1,
      request_id: requestId,
      client_public_key: clientKey,
      api_v1_request: { model: node.model, messages, options: { max_tokens: MAX_TOKENS } },
    };
    const askStream = () => {
      if (info.streaming === STREAM_FORMAT) envelope.api_v1_stream = { format: STREAM_FORMAT };
      else delete envelope.api_v1_stream;
    };
    askStream();
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
      node = await pickNode(conv.model, controller.signal);
      nodeKey = await importNodeKey(node.serverPublicKey);
      info = await nodeInfoFor(node.serverPublicKey);
      askStream();
      envelope.api_v1_request.model = node.model;
      enc = await encryptFor(nodeKey, JSON.stringify(envelope));
      admitted = await submit(payload(), controller.signal);
    }
    submitted = true;
    const nodeFingerprint = await fingerprint(node.serverPublicKey);
    pending.dataset.fingerprint = nodeFingerprint;
    pendingBody.textContent = `Waiting for compute node ${nodeFingerprint} to answer…`;
    const serverPublicKey = node.serverPublicKey;
    const signs = info.signing !== undefined;
    const signed = (purpose: 'answer' | 'snapshot', sequence: number, finishReason: string, text: string) => ({
      protocol: PROTOCOL,
      purpose,
      requestId,
      clientPublicKey: clientKey,
      serverPublicKey,
      sequence,
      finishReason,
      text,
    });
    let progress: Progress | null = null;
    // Streamed text: a snapshot must carry a valid signature from a signing node; one that
    // carries a signature is checked whatever the node advertised (fail closed).
    const stream = new SnapshotStream((snap) =>
      snap.signature === null ? Promise.resolve(!signs) : verifySignedText(signed('snapshot', snap.sequence, '', snap.text), snap.signature),
    );
    streamView = null;
    let finished = false;
    // Records are handled one at a time in arrival order, so every stale one is seen and counted.
    let records: Promise<void> = Promise.resolve();
    const handleRecord = async (encrypted: EncryptedReply): Promise<void> => {
      const pt = await decryptWith(k, { ciphertext: encrypted.chat_history, cipherkey: encrypted.cipherkey, iv: encrypted.iv });
      if (finished || controller.signal.aborted) return;
      const snap = readSnapshot(pt, requestId, clientKey);
      if (snap) {
        const verdict = await stream.offer(snap);
        if (finished || controller.signal.aborted || !onScreen()) return;
        if (verdict.accepted) {
          if (!streamView) {
            pending.remove();
            streamView = new AnswerView();
            streamView.el.dataset.fingerprint = nodeFingerprint;
          }
          streamView.stream(verdict.text, snap.sequence);
        } else {
          console.warn(`streamed record ${snap.sequence} refused: ${verdict.reason}`);
          const note = describeRefusals(stream.refused);
          if (streamView) streamView.refusedUpdates(note, stream.refused.length);
          else pending.dataset.refused = String(stream.refused.length);
        }
        return;
      }
      const next = newer(progress, readProgress(pt, requestId, clientKey));
      if (next && next !== progress && !streamView) {
        progress = next;
        pendingBody.textContent = describeProgress(next);
        pending.dataset.phase = next.phase;
        pending.dataset.generated = String(next.generatedTokens);
      }
    };
    const onProgress = (encrypted: EncryptedReply) => {
      records = records.then(() => handleRecord(encrypted)).catch(() => undefined);
    };
    const reply = await waitForReply(clientKey, requestId, admitted.deadline, controller.signal, onProgress);
    finished = true;
    const plaintext = await decryptWith(k, { ciphertext: reply.chat_history, cipherkey: reply.cipherkey, iv: reply.iv });
    const { content, finishReason, signature } = readEnvelope(plaintext, requestId, clientKey, signs);
    let verification: 'verified' | 'unverified' = 'unverified';
    if (signature !== undefined) {
      if (!(await verifySignedText(signed('answer', 0, finishReason ?? '', content), signature))) {
        throw new UserFacingError(
          'refused',
          `The answer was refused: its signature does not match compute node ${nodeFingerprint}, the node this page chose, so someone else may have written it.`,
        );
      }
      verification = 'verified';
    } else if (signs) {
      throw new UserFacingError(
        'refused',
        `The answer was refused: compute node ${nodeFingerprint} signs its answers, but this one carried no signature, so someone else may have written it.`,
      );
    }
    const answer: StoredTurn = {
      role: 'assistant',
      content,
      node: { fingerprint: nodeFingerprint, model: node.model, ...(info.label ? { label: info.label } : {}) },
      ...(finishReason ? { finishReason } : {}),
      verification,
    };
    if (controller.signal.aborted) throw new UserFacingError('cancelled', 'Stopped.');
    pending.remove();
    conv.turns.push(answer);
    void persist(conv);
    if (onScreen()) {
      const view = streamView ?? new AnswerView();
      view.show(answer);
      if (stream.refused.length > 0) view.refusedUpdates(describeRefusals(stream.refused), stream.refused.length);
    }
    streamView = null;
  } catch (err) {
    pending.remove();
    const stopped = controller.signal.aborted;
    const partial = streamView;
    streamView = null;
    if (submitted && (stopped || (err instanceof UserFacingError && err.kind === 'timeout'))) void cancel(clientKey, requestId, cancelToken);
    if (stopped) {
      // Stopping is the user's choice, not a failure: the message stays, marked as stopped,
      // with whatever of the answer had streamed in.
      turn.stopped = true;
      const text = partial?.currentText ?? '';
      if (text) turn.partial = text;
      void persist(conv);
      if (partial && text) partial.showPartial(text);
      else partial?.el.remove();
      if (onScreen() && userEl.isConnected) markStopped(userEl, partial && text ? partial.el : userEl);
    } else {
      partial?.el.remove(); // a streamed preview of an answer that failed or was refused is not kept
      conv.turns.splice(conv.turns.indexOf(turn), 1); // this turn did not happen; the text goes back into the box
      if (conv.turns.length === 0) {
        conversations = conversations.filter((c) => c !== conv);
        if (storageOk) void deleteConversation(conv.id).catch(() => undefined);
        renderList();
      } else void persist(conv);
      userEl.classList.add('failed');
      userEl.setAttribute('aria-label', 'Not delivered');
      const message = err instanceof UserFacingError ? err.message : 'Something went wrong while encrypting or decrypting this message. Please try again.';
      if (!(err instanceof UserFacingError)) console.error(err);
      if (onScreen()) {
        const el = addMessage('error', message);
        el.dataset.kind = err instanceof UserFacingError ? err.kind : 'internal';
        if (!prompt.value) prompt.value = text;
      }
    }
  } finally {
    if (busy?.controller === controller) setBusy(null);
    prompt.focus();
    void refreshStatus();
  }
}

function readEnvelope(
  plaintext: string,
  requestId: string,
  clientKey: string,
  signs: boolean,
): { content: string; finishReason: string | undefined; signature: unknown } {
  let env: unknown;
  try {
    env = JSON.parse(plaintext);
  } catch {
    throw new UserFacingError('protocol', 'The answer could not be read (it was not valid JSON after decryption).');
  }
  const e = env as {
    protocol?: unknown;
    version?: unknown;
    request_id?: unknown;
    client_public_key?: unknown;
    api_v1_response?: unknown;
    api_v1_signature?: unknown;
  };
  if (!e || e.protocol !== PROTOCOL || e.version !== 1 || e.request_id !== requestId) {
    throw new UserFacingError('protocol', 'The answer does not belong to this message, so it was ignored.');
  }
  if (e.client_public_key !== undefined && e.client_public_key !== clientKey) {
    throw new UserFacingError('protocol', 'The answer was addressed to a different key, so it was ignored.');
  }
  const r = e.api_v1_response as { message?: { content?: unknown }; error?: { message?: unknown; code?: unknown }; finish_reason?: unknown } | undefined;
  if (r?.error) {
    // Error answers are not signed: from a signing node, the words are not shown (anyone with
    // the request could have written them); the failure is.
    const detail = typeof r.error.message === 'string' && !signs ? ` It said: ${r.error.message}` : '';
    throw new UserFacingError('node_error', `The compute node could not answer this message.${detail}`);
  }
  const content = r?.message?.content;
  if (typeof content !== 'string') throw new UserFacingError('protocol', 'The answer had no text in it.');
  const finishReason = typeof r?.finish_reason === 'string' ? r.finish_reason : undefined;
  return { content, finishReason, signature: e.api_v1_signature };
}

// ---- model picker ----------------------------------------------------------------------------

function setModel(model: string): void {
  if (model && ![...modelPicker.options].some((o) => o.value === model)) addModelOption(model);
  modelPicker.value = model;
}

function addModelOption(id: string): void {
  const o = document.createElement('option');
  o.value = id;
  o.textContent = id;
  modelPicker.append(o);
}

async function refreshModels(): Promise<void> {
  const listing = await loadModels();
  if (!listing) return;
  const chosen = modelPicker.value;
  const ids = listing.models.includes(chosen) || chosen === '' ? listing.models : [...listing.models, chosen];
  const have = [...modelPicker.options].slice(1).map((o) => o.value);
  if (have.join('\n') === ids.join('\n')) return;
  modelPicker.replaceChildren(modelPicker.options[0]!);
  for (const id of ids) addModelOption(id);
  modelPicker.value = chosen;
  modelPicker.dataset.source = listing.source;
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
  void Promise.all([refreshStatus(), refreshModels()]).finally(() => {
    statusTimer = window.setTimeout(scheduleStatus, document.hidden ? 15_000 : 3_000);
  });
}

// ---- phone layout ----------------------------------------------------------------------------

function closeSidebarOnPhone(): void {
  if (chatsToggle.offsetParent === null) return; // the toggle only shows on narrow screens
  sidebar.classList.remove('open');
  chatsToggle.setAttribute('aria-expanded', 'false');
}

chatsToggle.addEventListener('click', () => {
  const open = !sidebar.classList.contains('open');
  sidebar.classList.toggle('open', open);
  chatsToggle.setAttribute('aria-expanded', String(open));
  if (open) list.querySelector<HTMLButtonElement>('button')?.focus();
});

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
    busy.controller.abort();
  }
});

stop.addEventListener('click', () => {
  busy?.controller.abort();
  prompt.focus();
});

newChat.addEventListener('click', startNewChat);

modelPicker.addEventListener('change', () => {
  current.model = modelPicker.value;
  void persist(current);
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) scheduleStatus();
});

async function restore(): Promise<void> {
  try {
    conversations = await listConversations();
  } catch (err) {
    storageOk = false;
    console.warn('conversations unavailable', err);
  }
  let wanted: string | null = null;
  try {
    wanted = localStorage.getItem(CURRENT_KEY);
  } catch {
    wanted = null;
  }
  // A question left waiting when the page closed cannot be answered any more (its keys went
  // with the page): it reads as stopped.
  for (const c of conversations) {
    const last = c.turns[c.turns.length - 1];
    if (last?.role === 'user' && !last.stopped) {
      last.stopped = true;
      void saveConversation(c).catch(() => undefined);
    }
  }
  const open = conversations.find((c) => c.id === wanted);
  if (open && !busy) {
    current = open;
    setModel(open.model);
    renderConversation();
  }
  renderList();
  document.body.dataset.conversations = 'ready';
}

void restore();
scheduleStatus();
prompt.focus();
