/**
 * Content negotiation for the 406 and 415 checks.
 *
 * @module
 */

/** Whether an `Accept` header allows `mediaType` (absent or empty allows everything). */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [type, subtype] = mediaType.toLowerCase().split('/') as [string, string];
  return accept.split(',').some((part) => {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) return false;
    const [t, s] = range.trim().split('/');
    return (t === '*' && s === '*') || (t === type && (s === '*' || s === subtype));
  });
}

/** Whether a `Content-Type` header is JSON (`application/json`, any parameters). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}
