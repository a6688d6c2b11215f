/**
 * A file of the data directory that the server makes on first start and reads ever after (its
 * key, its id).
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '@push-jobs/protocol/internal';

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/**
 * The text of `file`; when it does not exist, `make()` is written there (its directory created
 * with `modes.dir`, the file with `modes.file`) and returned. A file another process created in
 * the meantime is never replaced: it is read instead.
 *
 * @param what names the file in errors ("server key").
 * @throws Error `cannot read|write <what> <file>: ...` when the file cannot be read or written.
 */
export async function readOrCreateFile(
  file: string,
  what: string,
  make: () => string,
  modes: { file: number; dir?: number },
): Promise<string> {
  const failed = (verb: string, err: unknown): Error =>
    new Error(`cannot ${verb} ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw failed('read', err);
  }
  const text = make();
  try {
    await mkdir(dirname(file), { recursive: true, ...(modes.dir === undefined ? {} : { mode: modes.dir }) });
    // `wx`: never replace a file another process created in the meantime; read that one.
    await writeFile(file, text, { mode: modes.file, flag: 'wx' });
    return text;
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw failed('write', err);
  }
  return readFile(file, 'utf8').catch((err: unknown) => {
    throw failed('read', err);
  });
}
