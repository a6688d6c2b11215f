/**
 * The recipes (client spec C.4): each turns the attributes into the resources it converges.
 *
 * - `install`: the agent's npm package in the install prefix.
 * - `config`: `/etc/chef`, the log directory, `push-jobs-client.rb` and the key file.
 * - `service`: the service definition for the init system, then enable and start.
 *
 * A changed config notifies the service: a reload (SIGHUP, the agent re-reads its allow-list)
 * when only the whitelist line changed, a restart otherwise. A changed service definition,
 * package or key restarts it.
 *
 * @module
 */
import { dirname } from 'node:path';
import { CONFIG_DIR, CONFIG_PATH } from './attributes/defaults.js';
import type { InitSystem, PlatformFamily, PushJobsAttributes } from './attributes/types.js';
import { DirectoryResource, FileResource, KeyFileResource } from './converge/files.js';
import { NpmPackageResource } from './converge/npm-package.js';
import type { Notification, Resource } from './converge/resource.js';
import { type ServiceHandle, ServiceResource } from './converge/service.js';
import { renderClientRb, WHITELIST_LINE } from './render/client-rb.js';
import { renderServiceFiles, runitLogDir } from './render/service-files.js';

/** The name notifications address the agent's service by. */
export function serviceTarget(attrs: PushJobsAttributes): string {
  return `service[${attrs.service_name}]`;
}

function restart(attrs: PushJobsAttributes): Notification {
  return { target: serviceTarget(attrs), action: 'restart', timing: 'delayed' };
}

/** Mode of the config file: 0644 as in the original, 0600 when it holds a proxy password. */
export function configFileMode(attrs: PushJobsAttributes): number {
  return attrs.proxy.http.pass !== null || attrs.proxy.https.pass !== null ? 0o600 : 0o644;
}

/**
 * What a config change needs: a reload when the old file differs from the new one only in its
 * `whitelist(...)` line, a restart otherwise (or when there was no old file).
 */
export function configChangeAction(oldContent: string | undefined, newContent: string): 'reload' | 'restart' {
  if (oldContent === undefined) return 'restart';
  const strip = (text: string): string => text.replace(WHITELIST_LINE, 'whitelist(...)');
  return strip(oldContent) === strip(newContent) ? 'reload' : 'restart';
}

/** The `install` recipe. */
export function installRecipe(attrs: PushJobsAttributes, npm?: string): Resource[] {
  return [new NpmPackageResource(attrs, 'install', [restart(attrs)], npm)];
}

/**
 * The `config` recipe.
 *
 * @throws CookbookError when the server URL or node name is missing (before anything runs).
 */
export function configRecipe(attrs: PushJobsAttributes): Resource[] {
  const content = renderClientRb(attrs);
  const dirs = [CONFIG_DIR];
  if (attrs.logging_dir !== null) dirs.push(attrs.logging_dir);
  const keyDir = dirname(attrs.chef.client_key_path);
  if (!dirs.includes(keyDir)) dirs.push(keyDir);
  const target = serviceTarget(attrs);
  return [
    ...dirs.map((dir) => new DirectoryResource(dir, 'config')),
    new FileResource(CONFIG_PATH, content, 'config', {
      mode: configFileMode(attrs),
      sensitive: configFileMode(attrs) === 0o600,
      notificationsFor: (oldContent, newContent) => [
        { target, action: configChangeAction(oldContent, newContent), timing: 'delayed' },
      ],
    }),
    new KeyFileResource(attrs.chef.client_key_path, attrs.chef.client_key_source, 'config', [restart(attrs)]),
  ];
}

/** The `service` recipe for `initSystem`. */
export function serviceRecipe(
  attrs: PushJobsAttributes,
  initSystem: InitSystem,
  family: PlatformFamily,
  handle: ServiceHandle,
): Resource[] {
  const files = renderServiceFiles(attrs, initSystem, family);
  const notifies: Notification[] =
    initSystem === 'systemd'
      ? [{ target: handle.name, action: 'daemon_reload', timing: 'immediately' }, restart(attrs)]
      : [restart(attrs)];
  const resources: Resource[] = [];
  if (initSystem === 'runit') {
    const sv = `/etc/sv/${attrs.service_name}`;
    resources.push(
      new DirectoryResource(sv, 'service'),
      new DirectoryResource(`${sv}/log`, 'service'),
      new DirectoryResource(runitLogDir(attrs), 'service'),
    );
  } else {
    for (const file of files) {
      const dir = dirname(file.path);
      resources.push(new DirectoryResource(dir, 'service'));
    }
  }
  for (const file of files) {
    resources.push(new FileResource(file.path, file.content, 'service', { mode: file.mode, notifies }));
  }
  resources.push(
    new ServiceResource(handle, 'enable', 'service'),
    new ServiceResource(handle, 'start', 'service'),
  );
  return resources;
}
