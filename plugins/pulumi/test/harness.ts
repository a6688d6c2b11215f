/**
 * The `setMocks` harness: records every resource the components register (type, name, inputs
 * with their secret-ness, parent, dependencies, additional secret outputs), echoes inputs back
 * as state, and lets a test decide what a command prints (or run it for real).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';

/** One registered resource. */
export interface Recorded {
  readonly type: string;
  readonly name: string;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input names whose value was (or held) a secret. */
  readonly secretInputs: readonly string[];
  /** Parent URN ('' for none). */
  readonly parent: string;
  /** URNs of the explicit dependencies. */
  readonly dependencies: readonly string[];
  /** Outputs the resource asked the engine to keep secret. */
  readonly additionalSecretOutputs: readonly string[];
  /** The URN the mock gave it. */
  readonly urn: string;
}

/** What a test decides about a command: extra state (`stdout`, ...). */
export type StateHook = (resource: Recorded) => Promise<Record<string, unknown>> | Record<string, unknown>;

const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;

function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG] === SECRET;
}

/** `value` without secret wrappers, and whether any part was secret. */
export function unwrap(value: unknown): { plain: unknown; secret: boolean } {
  if (isSecretValue(value)) return { plain: unwrap(value.value).plain, secret: true };
  if (Array.isArray(value)) {
    const parts = value.map(unwrap);
    return { plain: parts.map((p) => p.plain), secret: parts.some((p) => p.secret) };
  }
  if (typeof value === 'object' && value !== null) {
    let secret = false;
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const u = unwrap(v);
      plain[k] = u.plain;
      secret ||= u.secret;
    }
    return { plain, secret };
  }
  return { plain: value, secret: false };
}

/** The value of an output (never resolves for an unknown one). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    (output as unknown as { promise(): Promise<T> }).promise().then(resolve, reject);
  });
}

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
}

interface Monitor {
  registerResource(req: MonitorRequest, callback: (err: unknown, res: unknown) => void): Promise<void>;
}

/** Records resources registered under mocks. */
export class MockRecorder {
  readonly resources: Recorded[] = [];
  private readonly pending = new Map<string, MonitorRequest>();

  constructor(private readonly hook: StateHook = defaultState) {}

  /** Sets the mocks (call before constructing resources). */
  async install(project = 'push-jobs-test', stack = 'test', preview = false): Promise<void> {
    await pulumi.runtime.setMocks(
      {
        newResource: async (args) => {
          const req = this.pending.get(`${args.type}::${args.name}`);
          const { plain } = unwrap(args.inputs);
          const secretInputs = Object.entries(args.inputs as Record<string, unknown>)
            .filter(([, v]) => unwrap(v).secret)
            .map(([k]) => k);
          const parent = req?.getParent() ?? '';
          // urn:pulumi:STACK::PROJECT::[PARENT-TYPE$]TYPE::NAME, as the mock monitor makes it
          const parentType = parent === '' ? '' : `${(parent.split('::')[2] ?? '').split('$').pop() ?? ''}$`;
          const urn = `urn:pulumi:${stack}::${project}::${parentType}${args.type}::${args.name}`;
          const record: Recorded = {
            type: args.type,
            name: args.name,
            inputs: plain as Record<string, unknown>,
            secretInputs,
            parent,
            dependencies: req?.getDependenciesList() ?? [],
            additionalSecretOutputs: req?.getAdditionalsecretoutputsList() ?? [],
            urn,
          };
          this.resources.push(record);
          const extra = await this.hook(record);
          return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...extra } };
        },
        call: (args) => {
          throw new Error(`unexpected call ${args.token}`);
        },
      },
      project,
      stack,
      preview,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      this.pending.set(`${req.getType()}::${req.getName()}`, req);
      return register(req, callback);
    };
  }

  /** The resource named `name`. @throws when there is none. */
  get(name: string): Recorded {
    const found = this.resources.find((r) => r.name === name);
    if (found === undefined) {
      throw new Error(`no resource ${name}; have ${this.resources.map((r) => r.name).join(', ')}`);
    }
    return found;
  }

  /** Names of the resources of a type, in registration order. */
  names(type?: string): string[] {
    return this.resources.filter((r) => type === undefined || r.type === type).map((r) => r.name);
  }
}

/** Fake keys and a public key for the read-back steps, empty output otherwise. */
export const FAKE_KEYS = Object.freeze({
  admin: '-----BEGIN RSA PRIVATE KEY-----\nADMIN\n-----END RSA PRIVATE KEY-----\n',
  validator: '-----BEGIN RSA PRIVATE KEY-----\nVALIDATOR\n-----END RSA PRIVATE KEY-----\n',
  server: '-----BEGIN PUBLIC KEY-----\nSERVER\n-----END PUBLIC KEY-----\n',
});

/** The default state hook: what the read-back steps print. */
export function defaultState(r: Recorded): Record<string, unknown> {
  if (r.type !== 'command:remote:Command') return {};
  if (r.name.endsWith('-keys')) {
    return {
      stdout: JSON.stringify({ admin_key: FAKE_KEYS.admin, validator_key: FAKE_KEYS.validator }),
      stderr: '',
    };
  }
  if (r.name.endsWith('-public-key')) return { stdout: FAKE_KEYS.server, stderr: '' };
  return { stdout: `${r.name} done\n`, stderr: '' };
}

/** Every string in `value` (deep). */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

/** The plain-text (non-secret) input strings of every recorded resource. */
export function plainInputStrings(recorder: MockRecorder): string[] {
  return recorder.resources.flatMap((r) =>
    Object.entries(r.inputs)
      .filter(([k]) => !r.secretInputs.includes(k))
      .flatMap(([, v]) => strings(v)),
  );
}

/**
 * The script a host command runs, as bash sees it: the command string with its
 * `[sudo -n] /bin/bash -c` replaced by a function printing its first argument, evaluated by
 * `/bin/sh` (which undoes the quoting).
 */
export function innerScript(command: string): string {
  if (!/^(sudo -n )?\/bin\/bash -c /.test(command))
    throw new Error(`not a host command: ${command.slice(0, 40)}`);
  const printFirst = `script() { printf '%s' "$1"; }; script `;
  return execFileSync('/bin/sh', ['-c', command.replace(/^(sudo -n )?\/bin\/bash -c /, () => printFirst)], {
    encoding: 'utf8',
  });
}

/** Every regular file or symlink under `dir` (the real host-script tests check a root is empty). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}
