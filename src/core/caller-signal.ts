// How the domain learns that the caller of a held poll has gone (its connection closed before
// the answer): the part of AbortSignal that src/core/hold.ts and the waiters use. An AbortSignal
// is one; the HTTP side passes a lighter object (src/http/caller-gone.ts), because an
// AbortController per held poll is an EventTarget with two maps and a relay holds tens of
// thousands of polls at once.
export interface CallerSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: EventListenerObject, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: EventListenerObject): void;
}
