/**
 * Route definition with the original's method semantics: every path answers 405 (with `Allow`)
 * for a method it does not support, instead of Fastify's 404.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Access } from './context.js';
import { HttpError, internalError, isExpectedError } from './errors.js';

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

/** Runs a route's code; an unexpected error becomes a 500 with an id (see {@link internalError}). */
async function guard<T>(request: FastifyRequest, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw isExpectedError(error) ? error : internalError(request, error);
  }
}

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
        ? { preValidation: async (req: FastifyRequest) => guard(req, () => spec.preValidation!(req)) }
        : {}),
      handler: (async (req: FastifyRequest, reply: FastifyReply) =>
        guard(req, () => spec.handler(req, reply))) as RouteHandlerMethod,
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
