export * from './hybrid.js';
