/**
 * Running a long-lived process on a host: a systemd unit, or (init system `none`) a background
 * process with a pid file. Both are rendered as shell for the create and delete scripts.
 *
 * @module
 */
import type { InitSystem } from './layout.js';
import { heredoc, shellQuote } from './shell.js';

/** What a service needs. */
export interface ServiceSpec {
  readonly init: InitSystem;
  /** systemd unit name (without `.service`), also in messages. */
  readonly serviceName: string;
  readonly description: string;
  /** Shell words after the node binary: the script and its arguments (already quoted). */
  readonly execArgs: string;
  /** Unit file path (systemd). */
  readonly unitFile: string;
  /** Pid file (none). */
  readonly pidFile: string;
  /** Log file (none). */
  readonly logFile: string;
  /** Extra `[Service]` lines of the unit, e.g. `SuccessExitStatus=3`. */
  readonly unitExtra?: readonly string[];
}

/** Stands for the node binary's path in a unit file until the script knows it. */
export const NODE_BIN_PLACEHOLDER = '@NODE_BIN@';

/** The systemd unit text, with {@link NODE_BIN_PLACEHOLDER} for the node binary. */
export function systemdUnit(spec: ServiceSpec): string {
  return [
    '[Unit]',
    `Description=${spec.description}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${NODE_BIN_PLACEHOLDER} ${spec.execArgs}`,
    'Restart=on-failure',
    'RestartSec=5',
    ...(spec.unitExtra ?? []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Shell function `stop_service`: stops the process (TERM, then KILL after 15 s). */
function stopFunction(spec: ServiceSpec): string {
  if (spec.init === 'systemd') {
    return `stop_service() {
  if [ -f "$UNIT_FILE" ]; then
    systemctl disable --now ${shellQuote(spec.serviceName)} || true
  fi
}`;
  }
  return `stop_service() {
  [ -f "$PID_FILE" ] || return 0
  local pid
  pid="$(cat "$PID_FILE")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PID_FILE"
}`;
}

/** Variable lines for the service (its files). */
export function serviceVars(spec: ServiceSpec): Record<string, string> {
  return spec.init === 'systemd'
    ? { UNIT_FILE: spec.unitFile }
    : { PID_FILE: spec.pidFile, LOG_FILE: spec.logFile };
}

/**
 * Shell that (re)starts the service: writes the unit and restarts it with systemd, or stops a
 * running process and starts a new one in the background. Defines `service_running` for the
 * caller's wait loop (true while the process is alive).
 */
export function startService(spec: ServiceSpec): string {
  const node = 'NODE_BIN="$(command -v node)"';
  if (spec.init === 'systemd') {
    return `${node}
command -v systemctl >/dev/null 2>&1 || { echo "$0: systemctl not found; use initSystem 'none' on hosts without systemd" >&2; exit 1; }
mkdir -p "$(dirname "$UNIT_FILE")"
${heredoc('"$UNIT_FILE.tmp"', systemdUnit(spec))}
sed -i "s|${NODE_BIN_PLACEHOLDER}|$NODE_BIN|" "$UNIT_FILE.tmp"
mv "$UNIT_FILE.tmp" "$UNIT_FILE"
systemctl daemon-reload
systemctl enable ${shellQuote(spec.serviceName)}
systemctl restart ${shellQuote(spec.serviceName)}
service_running() { systemctl is-active --quiet ${shellQuote(spec.serviceName)}; }
service_log() { journalctl -u ${shellQuote(spec.serviceName)} -n 50 --no-pager 2>/dev/null || true; }`;
  }
  return `${node}
${stopFunction(spec)}
stop_service
mkdir -p "$(dirname "$PID_FILE")" "$(dirname "$LOG_FILE")"
if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
$detach nohup "$NODE_BIN" ${spec.execArgs} >>"$LOG_FILE" 2>&1 </dev/null &
echo $! >"$PID_FILE"
service_running() { kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
service_log() { tail -n 50 "$LOG_FILE" >&2 || true; }`;
}

/** Shell that stops the service and removes its files (unit, or pid and log files). */
export function removeService(spec: ServiceSpec): string {
  if (spec.init === 'systemd') {
    return `${stopFunction(spec)}
stop_service
rm -f "$UNIT_FILE"
if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi`;
  }
  return `${stopFunction(spec)}
stop_service
rm -f "$LOG_FILE"
rmdir "$(dirname "$LOG_FILE")" "$(dirname "$PID_FILE")" 2>/dev/null || true`;
}
