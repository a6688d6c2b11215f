/**
 * What the auth pipeline attaches to a request, and the per-route access policy.
 *
 * @module
 */
import type { JobCreation } from '@push-jobs/protocol/internal';
import type { FastifyRequest } from 'fastify';
import type { OrgRecord } from '../store/types.js';

/** The authenticated requestor of an org request. */
export interface Requestor {
  type: 'user' | 'client';
  name: string;
  /** A validator client may create clients. */
  validator: boolean;
}

/** A custom access rule: true grants access. `R`: the route's request type. */
export type AccessCheck<R = FastifyRequest> = (
  request: R,
  who: Requestor,
  org: OrgRecord,
) => boolean | Promise<boolean>;

/**
 * Who may call a route:
 * - `public`: no authentication (`/pushy/_status`);
 * - `read` / `write`: the push-jobs reader and writer groups, with the original's fallbacks;
 * - `member`: any authenticated member of the org;
 * - `admin`: a member of the org's `admins` group;
 * - a function: a rule of the route's own (a client reading itself, a validator creating a client).
 */
export type Access<R = FastifyRequest> = 'public' | 'read' | 'write' | 'member' | 'admin' | AccessCheck<R>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The request body exactly as received (the Chef content hash covers these bytes). */
    rawBody: string | undefined;
    /** The org of an `/organizations/ORG/...` request, once authenticated. */
    org: OrgRecord | undefined;
    /** The requestor, once authenticated. */
    requestor: Requestor | undefined;
    /** The body's JSON value, once parsed by {@link jsonBody}. */
    parsedBody: unknown;
    /** A `POST jobs` body, once checked (`checkJobRequest`) and its nodes made distinct. */
    jobRequest: (JobCreation & { nodes: string[] }) | undefined;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** The media type the route produces; a request whose Accept excludes it gets 406. */
    produces?: string;
    /** The route takes a JSON body (415 for another Content-Type). */
    jsonBody?: boolean;
  }
}
