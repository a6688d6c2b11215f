/**
 * The first step on every host: make sure Node.js (at least the wanted major version) is there,
 * downloading the official Linux build into `/opt/push-jobs-node` when it is not.
 *
 * @module
 */
import { assignments, bashCommand, preamble, shellQuote, type RunAs } from './shell.js';
import type { HostCommands } from './types.js';

/** What the Node.js step needs. */
export interface NodeStepInput {
  /** The Node.js home this package manages (`nodeHome(root)`). */
  readonly nodeHome: string;
  /** Where a `node` link goes when this step installs Node.js (`/usr/local/bin` under the root). */
  readonly linkDir: string;
  /** Lowest acceptable major version; also the version line downloaded. */
  readonly nodeMajor: number;
  /** Base URL of the Node.js distribution (`https://nodejs.org/dist`). */
  readonly nodeDistUrl: string;
  /**
   * Who uses this Node.js (the component's name): a marker file per user, so the last
   * component deleted from a host removes the Node.js this package installed.
   */
  readonly user: string;
  /**
   * Directories to create for later steps, owned by the SSH user when the script runs under
   * sudo (tarballs are copied into them over SFTP as that user).
   */
  readonly uploadDirs?: readonly string[];
  /** Step label (`$0` of the script). */
  readonly label: string;
  readonly runAs: RunAs;
}

/** The create and delete commands of the Node.js step. */
export function nodeStep(input: NodeStepInput): HostCommands {
  const vars = assignments({
    NODE_MAJOR: String(input.nodeMajor),
    NODE_DIST: input.nodeDistUrl.replace(/\/+$/, ''),
    USER_MARK: input.user,
    LINK_DIR: input.linkDir,
  });
  const uploads = (input.uploadDirs ?? [])
    .map(
      (dir) =>
        `mkdir -p ${shellQuote(dir)}\nif [ -n "\${SUDO_USER:-}" ]; then chown "$SUDO_USER" ${shellQuote(dir)}; fi\n`,
    )
    .join('');
  const create = `${preamble(input.nodeHome)}
${vars}
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$major" -ge "$NODE_MAJOR" ]
}
mkdir -p "$PUSH_JOBS_NODE_HOME/.users"
if node_ok; then
  echo "using node $(node --version) at $(command -v node)"
else
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    ppc64le) arch=ppc64le ;;
    s390x) arch=s390x ;;
    *) echo "$0: no Node.js build for $(uname -m); install Node.js $NODE_MAJOR or later and retry" >&2; exit 1 ;;
  esac
  command -v curl >/dev/null 2>&1 || { echo "$0: curl is needed to download Node.js; install curl and retry" >&2; exit 1; }
  base="$NODE_DIST/latest-v$NODE_MAJOR.x"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  fetch() {
    curl -fsSL "$1" -o "$2" || { echo "$0: cannot download $1; set nodeDistUrl to a reachable mirror, or install Node.js $NODE_MAJOR or later, and retry" >&2; exit 1; }
  }
  fetch "$base/SHASUMS256.txt" "$tmp/SHASUMS256.txt"
  file="$(awk -v want="linux-$arch.tar.gz" 'substr($2, length($2) - length(want) + 1) == want { print $2; exit }' "$tmp/SHASUMS256.txt")"
  [ -n "$file" ] || { echo "$0: no linux-$arch build listed at $base" >&2; exit 1; }
  fetch "$base/$file" "$tmp/$file"
  (cd "$tmp" && grep "  $file\\$" SHASUMS256.txt | sha256sum -c --quiet - >/dev/null 2>&1) || {
    echo "$0: $file does not match its SHA-256 in $base/SHASUMS256.txt; not installing it" >&2
    exit 1
  }
  tar -xzf "$tmp/$file" -C "$PUSH_JOBS_NODE_HOME" --strip-components=1 --no-same-owner
  touch "$PUSH_JOBS_NODE_HOME/.installed-by-push-jobs"
  PATH="$PUSH_JOBS_NODE_HOME/bin:$PATH"
  echo "installed node $(node --version) in $PUSH_JOBS_NODE_HOME"
  # Services started by an init system find node on its PATH (#!/usr/bin/env node).
  if [ ! -e "$LINK_DIR/node" ]; then
    mkdir -p "$LINK_DIR"
    ln -s "$PUSH_JOBS_NODE_HOME/bin/node" "$LINK_DIR/node"
    echo "linked $LINK_DIR/node"
  fi
fi
touch "$PUSH_JOBS_NODE_HOME/.users/$USER_MARK"
${uploads}`;
  const del = `${preamble(input.nodeHome)}
${vars}
rm -f "$PUSH_JOBS_NODE_HOME/.users/$USER_MARK"
if [ -d "$PUSH_JOBS_NODE_HOME/.users" ] && [ -z "$(ls -A "$PUSH_JOBS_NODE_HOME/.users")" ]; then
  if [ -L "$LINK_DIR/node" ] && [ "$(readlink "$LINK_DIR/node")" = "$PUSH_JOBS_NODE_HOME/bin/node" ]; then
    rm -f "$LINK_DIR/node"
  fi
  rm -rf "$PUSH_JOBS_NODE_HOME"
  echo "removed $PUSH_JOBS_NODE_HOME"
fi
`;
  return {
    create: bashCommand(create, input.label, input.runAs),
    delete: bashCommand(del, `${input.label}-delete`, input.runAs),
  };
}
