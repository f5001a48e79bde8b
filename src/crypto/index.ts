export * from './hybrid.js';
export * from './signed-answer.js';
export * from './stream-snapshot.js';
