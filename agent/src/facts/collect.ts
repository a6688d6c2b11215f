/**
 * The facts the agent collects about its host, under ohai's names (so a Chef shop's searches
 * such as `platform:debian`, `platform_family:rhel`, `kernel_machine:x86_64` or
 * `ipaddress:10.0.*` keep working): read from `node:os` and a few small files under `/etc` and
 * `/proc`, asynchronously, never by running a program.
 *
 * Collected (`automatic` level): `hostname`, `fqdn`, `domain`, `machinename`, `ipaddress`,
 * `ip6address`, `macaddress`, `platform`, `platform_family`, `platform_version`, `os`,
 * `os_version`, `kernel` (`name`, `release`, `version`, `machine`, `os`), `cpu.total`,
 * `memory.total` and `memory.swap.total` (`"NNNkB"`, as ohai writes them), `uptime_seconds`,
 * `uptime`, `ohai_time`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import * as nodeOs from 'node:os';
import { join } from 'node:path';

/** A JSON object. */
export type Json = Record<string, unknown>;

/** What {@link collectFacts} reads; tests give a fake root and fake `os` answers. */
export interface FactSources {
  /** A small text file under the root (`/etc/os-release`), or undefined when it cannot be read. */
  readText(path: string): Promise<string | undefined>;
  hostname(): string;
  networkInterfaces(): NodeJS.Dict<nodeOs.NetworkInterfaceInfo[]>;
  cpuCount(): number;
  totalmem(): number;
  uptime(): number;
  platform(): NodeJS.Platform;
  type(): string;
  release(): string;
  version(): string;
  machine(): string;
  now(): number;
}

/** Largest file read by {@link fileSources}: the files read are a few kB at most. */
const MAX_FACT_FILE_BYTES = 64 * 1024;

/** Sources reading the real host, with files under `root` (default `/`). */
export function fileSources(root = '/'): FactSources {
  return {
    readText: async (path) => {
      try {
        const text = await readFile(join(root, path), 'utf8');
        return text.length > MAX_FACT_FILE_BYTES ? text.slice(0, MAX_FACT_FILE_BYTES) : text;
      } catch {
        return undefined;
      }
    },
    hostname: () => nodeOs.hostname(),
    networkInterfaces: () => nodeOs.networkInterfaces(),
    cpuCount: () => nodeOs.availableParallelism(),
    totalmem: () => nodeOs.totalmem(),
    uptime: () => nodeOs.uptime(),
    platform: () => nodeOs.platform(),
    type: () => nodeOs.type(),
    release: () => nodeOs.release(),
    version: () => nodeOs.version(),
    machine: () => nodeOs.machine(),
    now: () => Date.now(),
  };
}

/** Facts that change on their own between two collections; not a reason to write the node. */
export const VOLATILE_FACTS: readonly string[] = Object.freeze(['uptime_seconds', 'uptime', 'ohai_time']);

/** `KEY=value` lines of an os-release file, quotes removed. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/u.exec(raw);
    if (m === null) continue;
    let v = (m[2] ?? '').trim();
    if (/^(["']).*\1$/u.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/gu, '$1');
    out[m[1] ?? ''] = v;
  }
  return out;
}

/** ohai's platform_family of a platform (os-release `ID`), `ID_LIKE` as a fallback. */
export function platformFamily(platform: string, idLike: readonly string[]): string {
  const families: Record<string, string> = {
    debian: 'debian',
    ubuntu: 'debian',
    linuxmint: 'debian',
    raspbian: 'debian',
    pop: 'debian',
    rhel: 'rhel',
    redhat: 'rhel',
    centos: 'rhel',
    rocky: 'rhel',
    almalinux: 'rhel',
    oracle: 'rhel',
    ol: 'rhel',
    scientific: 'rhel',
    fedora: 'fedora',
    amzn: 'amazon',
    amazon: 'amazon',
    sles: 'suse',
    sles_sap: 'suse',
    opensuse: 'suse',
    'opensuse-leap': 'suse',
    'opensuse-tumbleweed': 'suse',
    suse: 'suse',
    arch: 'arch',
    manjaro: 'arch',
    alpine: 'alpine',
    gentoo: 'gentoo',
    nixos: 'nixos',
    clearos: 'rhel',
  };
  const direct = families[platform];
  if (direct !== undefined) return direct;
  for (const like of idLike) {
    const f = families[like];
    if (f !== undefined) return f;
  }
  return platform;
}

/** ohai's `platform` for an os-release `ID` (a few are renamed). */
function ohaiPlatform(id: string): string {
  const renamed: Record<string, string> = { rhel: 'redhat', ol: 'oracle', amzn: 'amazon', sles: 'suse' };
  return renamed[id] ?? id;
}

/** The interface of the default IPv4 route, from `/proc/net/route`. */
export function defaultRouteInterface(routes: string | undefined): string | undefined {
  if (routes === undefined) return undefined;
  let best: { iface: string; metric: number } | undefined;
  for (const line of routes.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/u);
    if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue;
    const metric = Number(f[6]);
    if (best === undefined || metric < best.metric) best = { iface: f[0] ?? '', metric };
  }
  return best?.iface;
}

interface Addresses {
  ipaddress?: string;
  ip6address?: string;
  macaddress?: string;
}

function addresses(
  interfaces: NodeJS.Dict<nodeOs.NetworkInterfaceInfo[]>,
  preferred: string | undefined,
): Addresses {
  const names = Object.keys(interfaces).sort();
  const order = preferred !== undefined && names.includes(preferred) ? [preferred, ...names] : names;
  const out: Addresses = {};
  for (const name of order) {
    for (const info of interfaces[name] ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4' && out.ipaddress === undefined) {
        out.ipaddress = info.address;
        if (info.mac !== '00:00:00:00:00:00') out.macaddress = info.mac.toUpperCase();
      }
      if (info.family === 'IPv6' && out.ip6address === undefined && !info.address.startsWith('fe80:')) {
        out.ip6address = info.address;
      }
    }
  }
  return out;
}

/** The fully qualified name: the host name when dotted, else its dotted alias in `/etc/hosts`. */
export function fullyQualifiedName(host: string, hosts: string | undefined): string {
  if (host.includes('.')) return host;
  for (const raw of (hosts ?? '').split('\n')) {
    const names = raw.replace(/#.*$/u, '').trim().split(/\s+/u).slice(1);
    if (!names.includes(host)) continue;
    const dotted = names.find((n) => n.includes('.') && n.split('.')[0] === host);
    if (dotted !== undefined) return dotted;
  }
  return host;
}

/** `/proc/meminfo` value in kB (`MemTotal`), or undefined. */
function meminfoKb(meminfo: string | undefined, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'mu').exec(meminfo ?? '');
  return m === null ? undefined : Number(m[1]);
}

/** ohai's uptime text: `5 days 02 hours 03 minutes 04 seconds`. */
export function uptimeText(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor((s % 86_400) / 3600))} hours ${pad(Math.floor((s % 3600) / 60))} minutes ${pad(s % 60)} seconds`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'} ${hms}` : hms;
}

/** Collects the host's facts (see the module documentation). */
export async function collectFacts(src: FactSources = fileSources()): Promise<Json> {
  const [osRelease, debianVersion, hosts, routes, meminfo] = await Promise.all([
    src.readText('etc/os-release').then((t) => t ?? src.readText('usr/lib/os-release')),
    src.readText('etc/debian_version'),
    src.readText('etc/hosts'),
    src.readText('proc/net/route'),
    src.readText('proc/meminfo'),
  ]);
  const full = src.hostname();
  const hostname = full.split('.')[0] ?? full;
  const fqdn = fullyQualifiedName(full, hosts);
  const dot = fqdn.indexOf('.');
  const nodePlatform = src.platform();
  const os = nodePlatform === 'win32' ? 'windows' : nodePlatform;
  const facts: Json = { hostname, machinename: full, fqdn };
  if (dot > 0) facts.domain = fqdn.slice(dot + 1);
  Object.assign(facts, addresses(src.networkInterfaces(), defaultRouteInterface(routes)));
  if (osRelease !== undefined) {
    const rel = parseOsRelease(osRelease);
    const id = (rel.ID ?? '').toLowerCase();
    if (id !== '') {
      const platform = ohaiPlatform(id);
      facts.platform = platform;
      facts.platform_family = platformFamily(id, (rel.ID_LIKE ?? '').toLowerCase().split(/\s+/u));
      // ohai reads Debian's point release from /etc/debian_version (12.5, not 12).
      const debian = id === 'debian' ? debianVersion?.trim() : undefined;
      const version = debian !== undefined && /^[0-9.]+$/u.test(debian) ? debian : rel.VERSION_ID;
      if (version !== undefined && version !== '') facts.platform_version = version;
    }
  } else if (os !== 'linux') {
    facts.platform = os === 'darwin' ? 'mac_os_x' : os;
    facts.platform_family = os === 'darwin' ? 'mac_os_x' : os;
    facts.platform_version = src.release();
  }
  facts.os = os;
  facts.os_version = src.release();
  facts.kernel = {
    name: src.type(),
    release: src.release(),
    version: src.version(),
    machine: src.machine(),
    ...(os === 'linux' ? { os: 'GNU/Linux' } : {}),
  };
  facts.cpu = { total: src.cpuCount() };
  const memKb = meminfoKb(meminfo, 'MemTotal') ?? Math.floor(src.totalmem() / 1024);
  const swapKb = meminfoKb(meminfo, 'SwapTotal');
  facts.memory = { total: `${memKb}kB`, ...(swapKb === undefined ? {} : { swap: { total: `${swapKb}kB` } }) };
  const up = Math.floor(src.uptime());
  facts.uptime_seconds = up;
  facts.uptime = uptimeText(up);
  facts.ohai_time = src.now() / 1000;
  return facts;
}
