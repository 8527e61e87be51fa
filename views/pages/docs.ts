// The API's documentation page (/docs): the OpenAPI document of /openapi.json rendered on the
// server, from nothing but that document: operations by tag, each with the role it needs, its
// parameters, bodies and answers, and every schema as a short type. No script, no inline style:
// <details> opens and closes without either.
import { html, type Html } from "../html";
import { layout } from "../layout";
import type { Viewer } from "../controls";

type Schema = Record<string, unknown>;
interface Operation {
  summary?: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Schema }>; headers?: Record<string, { description?: string }> }>;
  "x-required-role"?: string;
  "x-websocket"?: boolean;
}
export interface DocsDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
}

/** A schema as one short type: `{ request_id: string, pairs: [{ entry: number, ... }] }`, `"a" | "b"`, `Error`. */
export function schemaText(s: Schema | undefined, depth = 0): string {
  if (!s) return "any";
  const pad = "  ".repeat(depth + 1);
  if (typeof s.$ref === "string") return s.$ref.slice(s.$ref.lastIndexOf("/") + 1);
  if ("const" in s) return JSON.stringify(s.const);
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (union) return union.map((u) => schemaText(u, depth)).join(" | ");
  if (s.allOf) return (s.allOf as Schema[]).map((u) => schemaText(u, depth)).join(" & ");
  if (s.type === "array") return `[${schemaText(s.items as Schema, depth)}]`;
  if (s.type === "object" || s.properties) {
    const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
    const more = s.patternProperties ? Object.values(s.patternProperties as Record<string, Schema>)[0] : undefined;
    if (props.length === 0) return more ? `{ [key]: ${schemaText(more, depth)} }` : "object";
    const required = new Set((s.required ?? []) as string[]);
    // The comma before the comment, so a line reads as the type it would be.
    const lines = props.map(([k, v], i) => `${pad}${k}${required.has(k) ? "" : "?"}: ${schemaText(v, depth + 1)}${i < props.length - 1 ? "," : ""}${v.description ? `  // ${v.description}` : ""}`);
    return `{\n${lines.join("\n")}\n${"  ".repeat(depth)}}`;
  }
  const type = Array.isArray(s.type) ? s.type.join(" | ") : String(s.type ?? "any");
  const bounds = [s.minimum !== undefined ? `>= ${s.minimum}` : "", s.maximum !== undefined ? `<= ${s.maximum}` : "", s.format ? String(s.format) : ""].filter(Boolean);
  return bounds.length ? `${type} (${bounds.join(", ")})` : type;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

function content(c: Record<string, { schema?: Schema }> | undefined): Html {
  if (!c) return html``;
  return html`${Object.entries(c).map(([type, { schema }]) => html`<div><code>${type}</code>${schema && schema.type !== "string" ? html`<pre>${schemaText(schema)}</pre>` : ""}</div>`)}`;
}

function operation(method: string, path: string, op: Operation): Html {
  const role = op["x-required-role"] ?? "admin";
  const params = op.parameters ?? [];
  return html`<details id="${op.operationId ?? `${method}-${path}`}">
<summary><code>${op["x-websocket"] ? "GET (WebSocket)" : method.toUpperCase()}</code> <code>${path}</code> ${op.summary ?? ""} <span class="badge" title="role needed">${role}</span></summary>
${op.description ? html`<p>${op.description}</p>` : ""}
${params.length ? html`<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>meaning</th></tr></thead><tbody>${params.map((p) => html`<tr><td><code>${p.name}</code>${p.required ? " (required)" : ""}</td><td>${p.in}</td><td><code>${schemaText(p.schema)}</code></td><td>${p.description ?? p.schema?.description ?? ""}</td></tr>`)}</tbody></table>` : ""}
${op.requestBody ? html`<h4>Body${op.requestBody.required ? "" : " (optional)"}</h4>${content(op.requestBody.content)}` : ""}
<h4>Answers</h4>
<table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>${Object.entries(op.responses).map(([status, r]) => html`<tr><td>${status}</td><td>${r.description ?? ""}${r.headers ? html` (headers: ${Object.keys(r.headers).join(", ")})` : ""}</td><td>${content(r.content)}</td></tr>`)}</tbody></table>
</details>`;
}

export function docsPage(version: string, identity: Viewer, doc: DocsDocument): Html {
  const byTag = new Map<string, Html[]>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const tag = op.tags?.[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operation(method, path, op));
    }
  }
  const tags = [...byTag.keys()];
  return layout({ title: "API", version, identity }, html`<section class="panel docs" aria-labelledby="docs-title">
<h1 id="docs-title">${doc.info.title} API <span class="muted">${doc.info.version}</span></h1>
<p>${doc.info.description ?? ""}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${doc.openapi}).</p>
<nav aria-label="Groups"><ul>${tags.map((t) => html`<li><a href="#tag-${t}">${t}</a> (${byTag.get(t)!.length})</li>`)}</ul></nav>
</section>
${tags.map((t) => html`<section class="panel" id="tag-${t}" aria-labelledby="tag-${t}-title"><h2 id="tag-${t}-title">${t}</h2>${byTag.get(t)!}</section>`)}`);
}
