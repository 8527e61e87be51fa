// The ops page: connections, topics, messages/s, drops, publish latency, progress age, workers and memory, as
// the metrics topic reports them. opsFragment is what its socket sends on every metrics_update.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { bytes, int } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import type { MemoryFigures } from "../../src/realtime/metrics";
import type { Viewer } from "../controls";

export interface OpsView {
  /** The metrics topic's state (realtime/metrics.ts); undefined before the first update. */
  metrics?: Record<string, unknown>;
  /** Read when the page renders (realtime/metrics.ts processMemory: heap used <= heap total <= RSS). */
  memory: MemoryFigures;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});

function tile(label: string, value: string | Html, note?: string | Html): Html {
  return html`<div class="tile"><dt>${label}</dt><dd><span class="big">${value}</span>${note ? html`<small class="muted">${note}</small>` : ""}</dd></div>`;
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
${tile("Memory (RSS)", bytes(v.memory.rss_bytes), `JS heap ${bytes(v.memory.heap_used_bytes)} used of ${bytes(v.memory.heap_total_bytes)} · ${bytes(v.memory.external_bytes)} external (buffers)`)}
${tile("Messages total", int(num(m.messages_total)), `${bytes(num(m.bytes_total))} sent`)}
</dl>
<div class="cols">
<div><h2>Jobs by state</h2><table><tbody>${Object.entries(jobs).map(([k, n]) => html`<tr><th scope="row">${k}</th><td class="num">${int(num(n))}</td></tr>`)}</tbody></table></div>
<div><h2>Busiest topics</h2>${busiest.length ? html`<table><tbody>${busiest.map(([t, n]) => html`<tr><th scope="row"><code>${t}</code></th><td class="num">${int(num(n))} messages</td></tr>`)}</tbody></table>` : html`<p class="muted">None yet.</p>`}</div>
</div>
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
