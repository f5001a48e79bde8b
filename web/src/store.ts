// Conversations kept in this browser (IndexedDB), so a reload keeps the chat. Only transcripts
// are kept: the page's key pair is made anew on every load and never stored, so a stored
// conversation cannot be used to read anything the relay carried.

export interface StoredTurn {
  role: 'user' | 'assistant';
  content: string;
  /** For answers: which node and model answered, and why it ended. */
  node?: { fingerprint: string; label?: string; model: string };
  finishReason?: string;
  /** A user turn whose wait was stopped: shown as such, still part of the conversation. */
  stopped?: boolean;
  /** For a stopped turn: the text that had streamed in by then (shown, never sent again). */
  partial?: string;
  /** For answers: signed by the chosen node's key and checked, or from a node that does not sign. */
  verification?: 'verified' | 'unverified';
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** The model picked for this conversation ('' = let the relay choose). */
  model: string;
  turns: StoredTurn[];
}

const DB_NAME = 'tokenplace-chat';
const STORE = 'conversations';

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'id' });
      store.createIndex('updatedAt', 'updatedAt');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('conversation store did not open'));
    req.onblocked = () => reject(new Error('conversation store blocked by another tab'));
  });
  return opened;
}

function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return db().then(
    (d) =>
      new Promise<T>((resolve, reject) => {
        const tx = d.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error ?? new Error('conversation store transaction failed'));
        tx.onabort = () => reject(tx.error ?? new Error('conversation store transaction aborted'));
      }),
  );
}

/** Newest first. */
export async function listConversations(): Promise<Conversation[]> {
  const all = await run<Conversation[]>('readonly', (s) => s.getAll() as IDBRequest<Conversation[]>);
  return all.sort((a, b) => b.updatedAt - a.updatedAt);
}

export function saveConversation(c: Conversation): Promise<IDBValidKey> {
  return run('readwrite', (s) => s.put(structuredClone(c)));
}

export function deleteConversation(id: string): Promise<undefined> {
  return run('readwrite', (s) => s.delete(id));
}

export function titleFor(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= 48 ? line : `${line.slice(0, 47).trimEnd()}…`;
}
