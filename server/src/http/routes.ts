/**
 * Route definition with the original's method semantics: every path answers 405 (with `Allow`)
 * for a method it does not support, instead of Fastify's 404.
 *
 * A method may declare the TypeBox schemas of its path parameters and query string (from the
 * protocol's REST schemas); Fastify validates them, and the handler's `request.params` and
 * `request.query` have their types.
 *
 * @module
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Access } from './context.js';
import { HttpError, internalError, isExpectedError } from './errors.js';

/** The schemas of a method's path parameters and query string. */
export interface RouteSchemas {
  params?: TSchema;
  querystring?: TSchema;
}

type StaticOr<S, D> = S extends TSchema ? Static<S> : D;

/** A request whose parameters and query have the types of the schemas `S`. */
export type RequestOf<S extends RouteSchemas> = FastifyRequest<{
  Params: StaticOr<S['params'], unknown>;
  Querystring: StaticOr<S['querystring'], unknown>;
}>;

/** One method of a route. */
export interface MethodSpec<S extends RouteSchemas = RouteSchemas> {
  access: Access<RequestOf<S>>;
  /** @default 'application/json' */
  produces?: string;
  /** Whether the method takes a JSON body (415 otherwise). @default false */
  jsonBody?: boolean;
  /** Its path parameters and query string; validated by Fastify before the handler. */
  schema?: S;
  /**
   * Checks that run before authentication, as the original's `malformed_request` did. They run
   * before the schemas are checked too, so their request is not typed by them.
   */
  preValidation?: (request: FastifyRequest) => void | Promise<void>;
  handler: (request: RequestOf<S>, reply: FastifyReply) => unknown;
}

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
type Method = (typeof ALL_METHODS)[number];

/** The methods of a route, each with its own schemas. */
export interface RouteMethods<
  G extends RouteSchemas,
  P extends RouteSchemas,
  U extends RouteSchemas,
  D extends RouteSchemas,
> {
  GET?: MethodSpec<G>;
  POST?: MethodSpec<P>;
  PUT?: MethodSpec<U>;
  DELETE?: MethodSpec<D>;
}

type ErasedSpec = Omit<MethodSpec, 'access' | 'handler'> & {
  access: Access;
  handler: (request: FastifyRequest, reply: FastifyReply) => unknown;
};

/** Runs a route's code; an unexpected error becomes a 500 with an id (see {@link internalError}). */
async function guard<T>(request: FastifyRequest, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw isExpectedError(error) ? error : internalError(request, error);
  }
}

/** Registers `url` with its methods, and a 405 for every other method. */
export function defineRoute<
  G extends RouteSchemas = RouteSchemas,
  P extends RouteSchemas = RouteSchemas,
  U extends RouteSchemas = RouteSchemas,
  D extends RouteSchemas = RouteSchemas,
>(app: FastifyInstance, url: string, methods: RouteMethods<G, P, U, D>): void {
  // Fastify validates each method's schema before its handler: that is what makes the types
  // of RequestOf true, so here, where the schema is registered, the handlers take any request.
  const specs = methods as Partial<Record<Method, ErasedSpec>>;
  const allowed = (Object.keys(specs) as Method[]).filter((m) => specs[m] !== undefined);
  for (const method of allowed) {
    const spec = specs[method]!;
    const preValidation = spec.preValidation;
    app.route({
      method,
      url,
      config: {
        access: spec.access,
        produces: spec.produces ?? 'application/json',
        jsonBody: spec.jsonBody ?? false,
      },
      ...(spec.schema === undefined ? {} : { schema: spec.schema }),
      ...(preValidation
        ? { preValidation: async (req: FastifyRequest) => guard(req, () => preValidation(req)) }
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
