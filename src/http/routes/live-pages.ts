// The live pages (live.md "Pages"): /live and /live/{game_id}, their fallback fragments, and the
// replay and deploy forms. The forms go through the live service like the API (so the feed hears
// of what they do); without scripts they post and get a 303 back to /live, with htmx they get a
// line saying what happened (an error comes back as the error fragment, in the same place).
import { Elysia } from "elysia";
import { doc, html, redirectTo } from "../openapi";
import { Form } from "./schemas";
import type { Identity } from "../../access/roles";
import { DomainError, notFound } from "../../errors";
import type { LiveService } from "../../live/service";
import type { LivePagesFeed } from "../../page-fragments/live-pages";
import { formNotice, liveGameFragment, liveGamePage, livePage, livePageFragment } from "../../../views/pages/live";
import { FORM_BYTES, readText } from "../body";
import { gameIdParam } from "../params";
import { identityOf } from "../request-identity";
import { htmlResponse, isHtmx } from "../respond";

export interface LivePagesRoutesDeps {
  version: string;
  live: LiveService;
  pages: LivePagesFeed;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

const GAME = { id: "the live game's id" };
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });
const noContent = () => new Response(null, { status: 204 });

/** A number the way the API takes it; anything else is passed on as text, for the service's 422 to name its field. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const numberOrText = (v: string) => (DECIMAL.test(v) ? Number(v) : v);

/** The form's fields, trimmed, empty ones left out (so the service's defaults apply). */
async function formFields(request: Request, timeoutMs: number): Promise<Map<string, string>> {
  const form = new URLSearchParams(await readText(request, { maxBytes: FORM_BYTES, timeoutMs }));
  const out = new Map<string, string>();
  for (const [k, v] of form) {
    const value = v.trim();
    if (value !== "" && !out.has(k)) out.set(k, value);
  }
  return out;
}

/** The replay form as the API's body: a count or a list of ids (one a line), speed and prefix. */
function replayBody(f: Map<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const games = f.get("games");
  if (games !== undefined) body.games = games.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  else if (f.has("count")) body.count = numberOrText(f.get("count")!);
  if (f.has("speed")) body.speed = numberOrText(f.get("speed")!);
  if (f.has("prefix")) body.prefix = f.get("prefix");
  return body;
}

/** The deploy form (values) or the job page's button (from_job), as the API's body. */
function deployBody(f: Map<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { name: f.get("name") ?? "" };
  if (f.has("from_job")) body.from_job = f.get("from_job");
  else for (const k of ["entry", "exit", "fee"]) if (f.has(k)) body[k] = f.get(k);
  return body;
}

/** A path's game id; one no game can have is answered like an unknown one. */
function gameIdOf(raw: string): string {
  try {
    return gameIdParam(raw, "id");
  } catch (err) {
    if (err instanceof DomainError) throw notFound("No live game with this id");
    throw err;
  }
}

export function livePagesRoutes(deps: LivePagesRoutesDeps) {
  const { live, pages } = deps;
  /** A starter identity sees the feed late: its page is filled by its socket's (late) copy, never by the present. */
  const late = (identity: Identity | null) => live.cutOff(identity) !== undefined;

  async function pageView() {
    await pages.ensureLoaded().catch(() => {}); // the store may not be open yet: the lists fill in as changes come
    return pages.pageState();
  }

  function gameView(raw: string) {
    const id = gameIdOf(raw);
    const state = pages.gameState(id);
    if (!state) throw notFound("No live game with this id (it is not live, or it was settled a while ago)");
    return state;
  }

  return new Elysia({ name: "live-pages" })
    .get("/live", async ({ request }) => {
      const identity = identityOf(request);
      const view = await pageView();
      return htmlResponse(livePage(deps.version, identity, late(identity) ? { pending: true } : view));
    }, { detail: doc({ summary: "The live page: live games, strategies, signals, replays", tag: "pages", responses: { 200: html("the page") } }) })
    .get("/pages/live", async ({ request }) => (late(identityOf(request)) ? noContent() : htmlResponse(livePageFragment(await pageView()))), { detail: doc({
      summary: "The live page's lists, for the fallback poll", tag: "pages", responses: { 200: html("a fragment"), 204: "a starter identity: its socket fills the page late" },
    }) })
    .get("/live/:id", async ({ params, request }) => {
      const identity = identityOf(request);
      await pages.ensureLoaded().catch(() => {});
      const state = gameView(params.id);
      return htmlResponse(liveGamePage(deps.version, identity, late(identity) ? { pending: true, game_id: state.game_id } : state));
    }, { detail: doc({ summary: "A live game's page", tag: "pages", params: GAME, responses: { 200: html("the page"), 404: "No live game with this id" } }) })
    .get("/pages/live/:id", ({ params, request }) => {
      const state = gameView(params.id);
      return late(identityOf(request)) ? noContent() : htmlResponse(liveGameFragment(state));
    }, { detail: doc({
      summary: "A live game's chart and signals, for the fallback poll", tag: "pages", params: GAME,
      responses: { 200: html("a fragment"), 204: "a starter identity", 404: "No live game with this id" },
    }) })
    .post("/live/replay", async ({ request }) => {
      const s = await live.replays.start(replayBody(await formFields(request, deps.bodyTimeoutMs)), identityOf(request));
      if (!isHtmx(request)) return seeOther("/live");
      return htmlResponse(formNotice(`Replay started: ${s.games.length} game${s.games.length === 1 ? "" : "s"} (${s.games.slice(0, 3).join(", ")}${s.games.length > 3 ? ", …" : ""}) at ${s.speed}×.`));
    }, { parse: "none", detail: doc({
      summary: "Start a replay from the live page's form", tag: "pages",
      body: { "application/x-www-form-urlencoded": Form({ games: "stored game ids, one a line", count: "or: how many", speed: "times real time", prefix: "live ids' prefix" }) },
      responses: { 200: html("htmx: a line saying what started"), 303: redirectTo("to /live"), 422: "bad values" },
    }) })
    .post("/live/strategies", async ({ request }) => {
      const s = await live.deploy(deployBody(await formFields(request, deps.bodyTimeoutMs)), identityOf(request));
      if (!isHtmx(request)) return seeOther("/live");
      return htmlResponse(formNotice(`Deployed ${s.name} (#${s.id}): entry ${s.entry}, exit ${s.exit}, fee ${s.fee}.`));
    }, { parse: "none", detail: doc({
      summary: "Deploy a strategy from a form (values, or a job's final selection)", tag: "pages",
      body: { "application/x-www-form-urlencoded": Form({ name: "the strategy's name", entry: "entry", exit: "exit", fee: "fee", from_job: "or: a grid search's id" }) },
      responses: { 200: html("htmx: a line saying what was deployed"), 303: redirectTo("to /live"), 422: "bad values" },
    }) });
}
