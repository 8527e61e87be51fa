// The systemd unit `gridcast install` writes: the binary started as an unprivileged user on its data
// dir and settings file, restarted on failure, logging to the journal, stopped within the daemon's
// own graceful-stop deadline, reloaded with SIGHUP, and hardened as far as Bun allows.
import { STOP_DEADLINE_MS } from "../server/signals";

/** What marks a file as written by `gridcast install`: uninstall removes only files that carry it. */
export const INSTALL_MARK = "Written by gridcast install";

export interface UnitOptions {
  binary: string;
  user: string;
  dataDir: string;
  settingsFile: string;
  version: string;
}

/** systemd kills what is left this long after the daemon's own deadline (it exits 1 by itself then). */
const KILL_MARGIN_S = 2;

export function systemdUnit(o: UnitOptions): string {
  const stopS = Math.ceil(STOP_DEADLINE_MS / 1000);
  return `# ${INSTALL_MARK} (gridcast ${o.version}); \`gridcast uninstall\` removes it.
# Settings: ${o.settingsFile} (\`systemctl reload gridcast\` re-reads it). Logs: journalctl -u gridcast

[Unit]
Description=gridcast: parameter sweeps and simulations of trading strategies, streamed live
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=${o.user}
Group=${o.user}
ExecStart=${o.binary} serve --data-dir ${o.dataDir} --settings-file ${o.settingsFile}
# The daemon re-reads its settings file on SIGHUP (systemd's EnvironmentFile= would not be re-read).
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# SIGTERM: sockets are told, requests finish, the store closes, within ${stopS} s, else the daemon
# exits 1 by itself; systemd kills whatever is left ${KILL_MARGIN_S} s after that.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=${stopS + KILL_MARGIN_S}s
# Log lines (stderr) and the first start's admin login line (stdout) go to the journal;
# GRIDCAST_LOG_FORMAT=json in the settings file makes the lines JSON.
StandardOutput=journal
StandardError=journal
SyslogIdentifier=gridcast
UMask=0077

# Hardening: the whole system read-only but the data dir, no privileges, no devices, no other
# users' files or processes. MemoryDenyWriteExecute= stays off: Bun's JIT and WebAssembly need
# memory that is written, then executed.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${o.dataDir}
PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
ProtectProc=invisible
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
# No capabilities: a port under 1024 needs a proxy in front (or a drop-in adding CAP_NET_BIND_SERVICE).
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}
