/**
 * Platform detection: the family from `/etc/os-release` (the converge root's, else the
 * machine's), and the init system the machine runs.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM_PROFILES } from './attributes/defaults.js';
import { PLATFORM_FAMILIES, type InitSystem, type PlatformFamily } from './attributes/types.js';
import { CookbookError } from './errors.js';

/** `ID` and `ID_LIKE` of an os-release file. */
export function parseOsRelease(text: string): { id: string; idLike: string[] } {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/u.exec(line.trim());
    if (match === null) continue;
    values[match[1] ?? ''] = (match[2] ?? '').replace(/^(["'])(.*)\1$/u, '$2');
  }
  return {
    id: (values['ID'] ?? '').toLowerCase(),
    idLike: (values['ID_LIKE'] ?? '').toLowerCase().split(/\s+/u).filter(Boolean),
  };
}

/** The family an os-release `ID`/`ID_LIKE` belongs to, if supported. */
export function familyFromOsRelease(text: string): PlatformFamily | undefined {
  const { id, idLike } = parseOsRelease(text);
  for (const candidate of [id, ...idLike]) {
    const family = PLATFORM_FAMILIES.find((f) => PLATFORM_PROFILES[f].osReleaseIds.includes(candidate));
    if (family !== undefined) return family;
  }
  return undefined;
}

/**
 * The platform family of the converge root (its `/etc/os-release`), else of this machine.
 *
 * @throws CookbookError when there is no os-release or its family is not supported.
 */
export function detectPlatformFamily(root?: string): PlatformFamily {
  const candidates = [
    ...(root === undefined || root === '/' ? [] : [join(root, 'etc/os-release')]),
    '/etc/os-release',
  ];
  const file = candidates.find((p) => existsSync(p));
  if (file === undefined) {
    throw new CookbookError('cannot tell the platform family: no /etc/os-release (pass --platform-family)');
  }
  const text = readFileSync(file, 'utf8');
  const family = familyFromOsRelease(text);
  if (family === undefined) {
    const { id } = parseOsRelease(text);
    throw new CookbookError(
      `platform '${id}' (${file}) is not supported: this cookbook supports ${PLATFORM_FAMILIES.join(', ')} (pass --platform-family to override)`,
    );
  }
  return family;
}

/**
 * The init system: under a root, the family's usual one (systemd); on the machine, systemd when
 * it is running (`/run/systemd/system`), runit when `runsvdir` is set up, else sysvinit.
 */
export function detectInitSystem(root: string | undefined, family: PlatformFamily): InitSystem {
  if (root !== undefined && root !== '/') return PLATFORM_PROFILES[family].initSystem;
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync('/etc/runit') || existsSync('/etc/service')) return 'runit';
  return 'sysvinit';
}
