/**
 * Identity: RSA keys, and orgs, users, clients and groups over the store.
 *
 * @module
 */
export * from './keys.js';
export * from './service.js';
