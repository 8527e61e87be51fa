// The ops page: connections, topics, messages/s, drops, publish latency, progress age, workers and memory,
// the history held for recovering clients and the connections falling behind, as the metrics topic
// reports them. opsFragment is what its socket sends on every metrics_update.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { bytes, duration, int } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import { scrollTable } from "../scroll-table";
import type { MemoryFigures } from "../../src/realtime/metrics";
import type { Viewer } from "../controls";
import { historyChartSvg, type ChartLine } from "../svg/history-chart";
import type { HistoryRow } from "../../src/metrics-history/sample";
import type { Thresholds } from "../../src/alerts/thresholds";
import type { ClusterView } from "../../src/cluster/registry";

/** The performance history the charts draw: the recorder's rows of the last hour, and the alert lines. */
export interface OpsHistory {
  rows: readonly HistoryRow[];
  /** --metrics-history-interval-ms; 0: not recorded. */
  intervalMs: number;
  thresholds: Thresholds;
  /** The end of the window (now). */
  now: number;
}

export interface OpsView {
  /** The metrics topic's state (realtime/metrics.ts); undefined before the first update. */
  metrics?: Record<string, unknown>;
  /** Read when the page renders (realtime/metrics.ts processMemory: heap used <= heap total <= RSS). */
  memory: MemoryFigures;
  history?: OpsHistory;
  /** The node registry's list (README "Several daemons (cluster)"). */
  cluster?: ClusterView;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});

function tile(label: string, value: string | Html, note?: string | Html): Html {
  return html`<div class="tile"><dt>${label}</dt><dd><span class="big">${value}</span>${note ? html`<small class="muted">${note}</small>` : ""}</dd></div>`;
}

/** protocol.md "History and recovery": what is held for reconnecting clients, and what recoveries did. */
function recoveryPanel(m: Record<string, unknown>): Html {
  const h = obj(m.history);
  const limits = obj(h.limits);
  const asked = num(h.recoveries);
  return html`<section class="ops-history" aria-labelledby="ops-history-title"><h2 id="ops-history-title">History and recovery</h2>
<dl class="tiles">
${tile("Topics with history", int(num(h.topics)), `event topics holding messages for reconnecting clients`)}
${tile("Messages held", int(num(h.messages)), `up to ${int(num(limits.size))} per topic, for ${duration(num(limits.ttl_ms))}`)}
${tile("History memory", bytes(num(h.bytes)), `of at most ${bytes(num(limits.max_bytes))}`)}
${tile("Recoveries", html`${int(num(h.recovered))} / ${int(asked)}`, asked > 0 ? `recovered / asked · ${int(asked - num(h.recovered))} not recovered` : "none asked yet")}
${tile("Messages replayed", int(num(h.replayed)), "to recovering subscribers")}
</dl></section>`;
}

/** The acking subscriptions furthest behind their topic (the lag of /api/websocket/status), a bounded list. */
function lagPanel(m: Record<string, unknown>): Html {
  const l = obj(m.lag);
  const top = Array.isArray(l.top) ? (l.top as Record<string, unknown>[]) : [];
  const acking = num(l.acking);
  const behind = num(l.behind);
  const summary = acking === 0
    ? "No client acknowledges messages yet (protocol.md ack)."
    : behind === 0
      ? `None behind: all ${int(acking)} acknowledging subscription${acking === 1 ? " is" : "s are"} up to date.`
      : `${int(behind)} of ${int(acking)} acknowledging subscription${acking === 1 ? "" : "s"} behind, at most ${int(num(l.max_lag))} messages${behind > top.length ? `; the ${int(top.length)} furthest behind` : ""}.`;
  const table = html`<table class="lagging"><thead><tr><th scope="col">Connection</th><th scope="col">Topic</th><th scope="col">Endpoint</th><th scope="col">Role · tier</th><th scope="col" class="num">Acknowledged</th><th scope="col" class="num">Latest</th><th scope="col" class="num">Lag</th></tr></thead>
<tbody>${top.map((r) => html`<tr><td><code>${String(r.connection ?? "")}</code></td><td><code>${String(r.topic ?? "")}</code></td><td><code>${String(r.endpoint ?? "")}</code></td><td>${String(r.role ?? "")} · ${String(r.tier ?? "")}</td><td class="num">${int(num(r.acked))}</td><td class="num">${int(num(r.seq))}</td><td class="num"><strong>${int(num(r.lag))}</strong></td></tr>`)}</tbody></table>`;
  return html`<section class="ops-lag" aria-labelledby="ops-lag-title"><h2 id="ops-lag-title">Connections falling behind</h2>
<p class="muted">${summary}</p>
${top.length ? scrollTable("Connections falling behind", table) : ""}
</section>`;
}

/** The daemons sharing the store, as the node registry last read them; this node marked. */
function nodesPanel(c: ClusterView | undefined): Html {
  if (!c) return html``;
  const hms = (iso: string) => iso.slice(11, 19);
  const table = html`<table class="nodes"><thead><tr><th scope="col">Node</th><th scope="col">Address</th><th scope="col">Started</th><th scope="col">Last heartbeat</th><th scope="col" class="num">Workers busy</th></tr></thead>
<tbody>${c.nodes.map((n) => html`<tr data-node="${n.id}"><th scope="row"><code>${n.id}</code>${n.id === c.self ? html` <small class="muted">(this node)</small>` : ""}</th><td><code>${n.host}:${String(n.port)}</code></td><td>${hms(n.started_at)} UTC</td><td>${hms(n.last_heartbeat)} UTC</td><td class="num">${int(n.busy)} / ${int(n.workers)}</td></tr>`)}</tbody></table>`;
  const count = `${int(c.nodes.length)} node${c.nodes.length === 1 ? "" : "s"}`;
  return html`<section class="ops-nodes" aria-labelledby="ops-nodes-title"><h2 id="ops-nodes-title">Nodes</h2>
<p class="muted">${c.stale ? html`<strong>Stale</strong>: ${c.error ?? "not read yet"}${c.as_of ? ` · as of ${hms(c.as_of)} UTC` : ""}` : c.error ? html`<strong>${c.error}</strong>` : `${count} sharing the store`}</p>
${c.nodes.length ? scrollTable("Nodes", table) : ""}
</section>`;
}

/** The last hour as charts; they grow with every row the recorder keeps (re-rendered on each metrics_update). */
function chartsPanel(h: OpsHistory | undefined): Html {
  if (!h) return html``;
  if (h.intervalMs <= 0) return html`<section class="ops-charts"><h2>Last hour</h2><p class="muted">Performance history is off (--metrics-history-interval-ms 0).</p></section>`;
  const from = h.now - 3_600_000;
  const line = (label: string, cls: ChartLine["cls"], pick: (r: HistoryRow) => number | null): ChartLine =>
    ({ label, cls, points: h.rows.map((r) => [r.at, pick(r)]) });
  const chart = (id: string, title: string, lines: ChartLine[], extra: { format?: (v: number) => string; threshold?: number } = {}) =>
    historyChartSvg({ id, title, lines, from, to: h.now, gapMs: h.intervalMs * 3, ...extra });
  const t = h.thresholds;
  return html`<section class="ops-charts" aria-labelledby="ops-charts-title"><h2 id="ops-charts-title">Last hour</h2>
<p class="muted">${h.rows.length ? `${int(h.rows.length)} rows, one every ${duration(h.intervalMs)}; also at GET /api/metrics/history.` : `The first row comes ${duration(h.intervalMs)} after start.`}</p>
<div class="chart-grid">
${chart("hist-conn", "Connections and busy workers", [line("connections", "hist-a", (r) => r.connections), line("busy workers", "hist-b", (r) => r.busyWorkers)])}
${chart("hist-msgs", "Messages per second", [line("messages/s", "hist-a", (r) => r.messagesPerSecond)])}
${chart("hist-lat", "Publish p99 and event-loop lag p99 (ms)", [line("publish p99", "hist-a", (r) => r.publishP99Ms), line("event-loop lag p99", "hist-b", (r) => r.eventLoopLagP99Ms)], { threshold: t.eventLoopLagMs })}
${chart("hist-drops", "Drops per second", [line("drops/s", "hist-a", (r) => r.dropsPerSecond)], { threshold: t.dropsPerSecond })}
${chart("hist-store", "Store round trip (ms)", [line("store", "hist-a", (r) => r.storeLatencyMs)], { threshold: t.storeLatencyMs })}
${chart("hist-mem", "Memory (RSS) and CPU", [line("RSS MiB", "hist-a", (r) => r.rssBytes / 1024 ** 2), line("CPU %", "hist-b", (r) => r.cpuPercent)])}
</div></section>`;
}

function alertsList(h: OpsHistory | undefined): Html {
  const last = h?.rows[h.rows.length - 1];
  if (!h || h.intervalMs <= 0) return html``;
  const active = last?.alerts ?? [];
  return html`<section class="ops-alerts" aria-labelledby="ops-alerts-title"><h2 id="ops-alerts-title">Alerts</h2>
${active.length ? html`<ul class="alert-list">${active.map((a) => html`<li data-alert="${a.name}"><strong>${a.message}</strong> <small class="muted">since ${a.since.slice(11, 19)} UTC</small></li>`)}</ul>` : html`<p class="muted">None active.</p>`}</section>`;
}

export function opsMetrics(v: OpsView, oob = false): Html {
  const m = v.metrics;
  if (!m) return html`<div id="ops-metrics"${oobAttr(oob)}><p class="muted">Waiting for the first metrics update…</p></div>`;
  const lat = obj(m.publish_latency_ms);
  const age = obj(m.publish_data_age_ms);
  const w = obj(m.workers);
  const jobs = obj(m.jobs);
  const busiest = Object.entries(obj(m.busiest_topics));
  const at = new Date(num(m.timestamp) * 1000).toISOString().slice(11, 19);
  return html`<div id="ops-metrics"${oobAttr(oob)}>
<p class="muted">Updated ${at} UTC · every ${Math.round(num(m.interval_ms) / 1000)} s</p>
<dl class="tiles">
${tile("Connections", int(num(m.connections)))}
${tile("Topics", int(num(m.topics)))}
${tile("Messages/s", num(m.messages_per_second).toFixed(1), `${bytes(num(m.bytes_per_second))}/s · ${num(m.deliveries_per_second).toFixed(1)} deliveries/s`)}
${tile("Drops", int(num(m.drops)), `${int(num(m.drops_since_last))} since the last update`)}
${tile("Publish latency p50", `${num(lat.p50_ms)} ms`, `p95 ${num(lat.p95_ms)} ms · p99 ${num(lat.p99_ms)} ms · max ${num(lat.max_ms)} ms`)}
${tile("Progress age at publish p99", num(age.count) > 0 ? `${num(age.p99_ms)} ms` : "–", num(age.count) > 0 ? `from the worker's count · p50 ${num(age.p50_ms)} ms · max ${num(age.max_ms)} ms` : "no job progress published yet")}
${tile("Workers busy", `${int(num(w.busy))} / ${int(num(w.size))}`, `${int(num(w.alive))} alive · ${int(num(w.restarts))} restarts · ${int(num(w.running))} jobs running, ${int(num(w.queued))} queued`)}
${tile("Event-loop lag p99", m.event_loop_lag_ms ? `${num(obj(m.event_loop_lag_ms).p99)} ms` : "–", m.event_loop_lag_ms ? `max ${num(obj(m.event_loop_lag_ms).max)} ms over ${duration(num(obj(m.event_loop_lag_ms).window_ms))} to ${duration(2 * num(obj(m.event_loop_lag_ms).window_ms))}` : "not measured")}
${tile("Memory (RSS)", bytes(v.memory.rss_bytes), `JS heap ${bytes(v.memory.heap_used_bytes)} used of ${bytes(v.memory.heap_total_bytes)} · ${bytes(v.memory.external_bytes)} external (buffers)`)}
${tile("Messages total", int(num(m.messages_total)), `${bytes(num(m.bytes_total))} sent`)}
</dl>
<div class="cols">
<div><h2>Jobs by state</h2><table><tbody>${Object.entries(jobs).map(([k, n]) => html`<tr><th scope="row">${k}</th><td class="num">${int(num(n))}</td></tr>`)}</tbody></table></div>
<div><h2>Busiest topics</h2>${busiest.length ? html`<table><tbody>${busiest.map(([t, n]) => html`<tr><th scope="row"><code>${t}</code></th><td class="num">${int(num(n))} messages</td></tr>`)}</tbody></table>` : html`<p class="muted">None yet.</p>`}</div>
</div>
${alertsList(v.history)}
${nodesPanel(v.cluster)}
${chartsPanel(v.history)}
${recoveryPanel(m)}
${lagPanel(m)}
</div>`;
}

export const opsFragment = (v: OpsView) => String(opsMetrics(v, true));

export function opsPage(version: string, identity: Viewer, v: OpsView): Html {
  return layout({ title: "Ops", version, active: "ops", identity }, html`<section class="panel">
<div class="panel-head"><h1>Ops</h1>${liveIndicator({ socket: "/pages/ws/metrics", poll: "/ops/metrics" })}</div>
${opsMetrics(v)}
${poller("/ops/metrics")}
</section>`);
}
