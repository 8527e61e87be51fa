// `gridcast --help`: the commands and every setting, from the one settings table.
import { SETTINGS } from "../config/settings";

export function helpText(version: string): string {
  const rows = Object.values(SETTINGS).map((s) => `  ${`${s.flag} <value>`.padEnd(26)} ${s.env.padEnd(26)} ${s.doc} (default: ${s.defaultText})${s.live ? " [live]" : ""}`);
  return `gridcast ${version}: parameter sweeps and simulations of trading strategies, streamed live.

Usage:
  gridcast serve [options]            serve the app, the API and the WebSockets (default command)
  gridcast import FILE [--server URL] import a CSV or NDJSON games file (through a running daemon with --server;
                                      --token T or GRIDCAST_TOKEN when it has auth on)
  gridcast demo-data [--games N] [--seed S] [--server URL]
                                      write seeded synthetic games (labelled synthetic)
  gridcast token create --name N --role viewer|operator|admin [--tier starter|pro] [--expires 30d]
                                      make a token; prints its id, then the token (shown only this once)
  gridcast token list                 list tokens (never their secrets)
  gridcast token revoke ID            revoke a token: its next request is refused, its sockets close
                                      token commands work on the store directly, or through a running
                                      daemon with --server URL --token T (or GRIDCAST_TOKEN, an admin token)
  gridcast feed replay [--count N | --ids a,b] [--speed X] [--prefix P] --server URL [--token T]
                                      replay stored games as live games on a running daemon (prefix default
                                      replay-, speed default 1); needs --server: the replay runs in the daemon
  gridcast grid-search --entry START:STOP:STEP --exit START:STOP:STEP [--fee F] [--games a,b,...]
                                      run a grid search on a running daemon (--server URL, --token T or
                                      GRIDCAST_TOKEN) and follow it: a progress bar, then the final selection
                                      and the top 10 pairs by train P&L (--json: the results document)
  gridcast simulate --entry E --exit X [--fee F] [--games a,b,...]
                                      run one pair as a simulation the same way (per-game results)
  gridcast watch ID                   follow a job that is already queued or running (or print its results)
  gridcast jobs [--limit N]           list recent jobs: id, kind, state, progress, created (--json as served)
                                      Ctrl-C while a job is followed asks the daemon to cancel it; exit codes:
                                      0 complete, 1 error, cancelled, refused or daemon unreachable,
                                      2 bad arguments, 130 interrupted by Ctrl-C
  gridcast install [--prefix /] [--user gridcast] [--data-dir /var/lib/gridcast] [--binary PATH] [--dry-run]
                                      write a systemd unit for this binary, /etc/gridcast/gridcast.env (every
                                      setting, commented) and make the user and the data dir (--dry-run: print it all)
  gridcast uninstall [--prefix /] [--dry-run]
                                      remove the unit and the settings file install wrote (never the data)
  gridcast --help | --version

Options (each also read from its environment variable, and from the --settings-file; a flag wins over
the variable, the variable over the file). [live]: SIGHUP (systemctl reload) applies a new value at once;
the others need a restart:
${rows.join("\n")}
`;
}
