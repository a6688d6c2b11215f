/**
 * Route definition with the original's method semantics: every path answers 405 (with `Allow`)
 * for a method it does not support, instead of Fastify's 404.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Access } from './context.js';
import { HttpError } from './errors.js';

/** One method of a route. */
export interface MethodSpec {
  access: Access;
  /** @default 'application/json' */
  produces?: string;
  /** Whether the method takes a JSON body (415 otherwise). @default false */
  jsonBody?: boolean;
  /** Checks that run before authentication, as the original's `malformed_request` did. */
  preValidation?: (request: FastifyRequest) => void | Promise<void>;
  handler: (request: FastifyRequest, reply: FastifyReply) => unknown;
}

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
type Method = (typeof ALL_METHODS)[number];

/** Registers `url` with its methods, and a 405 for every other method. */
export function defineRoute(
  app: FastifyInstance,
  url: string,
  methods: Partial<Record<Method, MethodSpec>>,
): void {
  const allowed = Object.keys(methods) as Method[];
  for (const method of allowed) {
    const spec = methods[method]!;
    app.route({
      method,
      url,
      config: {
        access: spec.access,
        produces: spec.produces ?? 'application/json',
        jsonBody: spec.jsonBody ?? false,
      },
      ...(spec.preValidation
        ? { preValidation: async (req: FastifyRequest) => spec.preValidation!(req) }
        : {}),
      handler: spec.handler as RouteHandlerMethod,
    });
  }
  const others = ALL_METHODS.filter((m) => !allowed.includes(m));
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
  if (others.length > 0) {
    app.route({
      method: others,
      url,
      config: { access: 'public' },
      handler: async () => {
        throw new HttpError(405, `Method not allowed; allowed: ${allow}`, 'list', { allow });
      },
    });
  }
}
