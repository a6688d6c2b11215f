/**
 * Building blocks shared by the REST, wire and configuration schemas.
 *
 * Every schema here is a TypeBox schema: a plain JSON Schema object at runtime, with its
 * TypeScript type derived by `Static<>`.
 *
 * @module
 */
import { Type, type Static, type TUnsafe } from '@sinclair/typebox';

/**
 * A string schema that accepts exactly the members of an `as const` array, emitted as a
 * single `{"type":"string","enum":[...]}` (clearer errors than a union of literals).
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** A job id: 32 lowercase hexadecimal characters (spec 1.5). */
export const JobIdSchema = Type.String({
  pattern: '^[0-9a-f]{32}$',
  description: 'Job id, 32 lowercase hex',
});
/** A job id. */
export type JobId = Static<typeof JobIdSchema>;

/** An organization GUID: 32 lowercase hexadecimal characters. */
export const OrgGuidSchema = Type.String({ pattern: '^[0-9a-f]{32}$' });
/** An organization GUID. */
export type OrgGuid = Static<typeof OrgGuidSchema>;

/** A Chef node name: letters, digits, `_`, `.`, `:` and `-`, 1 to 255 characters. */
export const NodeNameSchema = Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', minLength: 1, maxLength: 255 });
/** A Chef node name. */
export type NodeName = Static<typeof NodeNameSchema>;

/** A Chef organization name: lowercase letters, digits, `-` and `_`, 1 to 255 characters. */
export const OrgNameSchema = Type.String({ pattern: '^[a-z0-9_-]+$', minLength: 1, maxLength: 255 });
/** A Chef organization name. */
export type OrgName = Static<typeof OrgNameSchema>;

/**
 * An RFC 1123 HTTP date in GMT, e.g. `Tue, 04 Sep 2012 23:01:02 GMT`: the format of the REST
 * job timestamps and of wire message timestamps sent by the original server and Ruby client.
 */
export const HttpDateSchema = Type.String({
  pattern:
    '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$',
});
/** An RFC 1123 HTTP date. */
export type HttpDate = Static<typeof HttpDateSchema>;

/** A UUID in its canonical 8-4-4-4-12 hexadecimal form (incarnation ids). */
export const UuidSchema = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});
/** A UUID string. */
export type Uuid = Static<typeof UuidSchema>;

/** An object mapping environment variable names to string values. */
export const EnvSchema = Type.Record(Type.String(), Type.String());
/** Environment variables. */
export type Env = Static<typeof EnvSchema>;
