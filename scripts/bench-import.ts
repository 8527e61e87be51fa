// Import throughput, in one run: parse-only vs full import on PGlite and on PostgreSQL, for
// generated CSV files of 1M and 4M ticks, each measured in its own process so peak RSS is its own.
//   bun scripts/bench-import.ts            (TICKS="1000000,4000000" to change the sizes)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { throwawayPostgres } from "./lib/throwaway-pg";

const SELF = import.meta.path;

async function child(mode: string, file: string) {
  const { parseGames } = await import("../src/games/parse");
  const { importGames } = await import("../src/games/import");
  const limits = { maxBytes: 1e12, maxGames: 1e7, maxTicksPerGame: 1e8 };
  const t0 = performance.now();
  let ticks = 0;
  if (mode === "parse") {
    for await (const b of parseGames(Bun.file(file).stream(), { format: "csv" })) ticks += b.length;
  } else {
    let database;
    if (mode === "pglite") {
      const { createPglite, pgliteDatabase } = await import("../src/db/pglite");
      const { migrate } = await import("../src/db/migrate");
      database = pgliteDatabase(await createPglite(join(mkdtempSync(join(tmpdir(), "gridcast-bench-")), "pg")));
      await migrate(database.db);
    } else {
      const { postgresDatabase } = await import("../src/db/postgres");
      const { migrate } = await import("../src/db/migrate");
      database = await postgresDatabase(process.env.DATABASE_URL!);
      await migrate(database.db);
    }
    const t1 = performance.now();
    ticks = (await importGames(database, Bun.file(file).stream() as never, { format: "csv", limits })).ticks;
    const ms = performance.now() - t1;
    await database.close();
    console.log(JSON.stringify({ ticks, ms, rssMiB: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  console.log(JSON.stringify({ ticks, ms: performance.now() - t0, rssMiB: process.resourceUsage().maxRSS / 1024 }));
}

/** Writes a CSV of `ticks` rows: 2,000-tick games, rows of 8 games interleaved, as imports see them. */
async function writeFile(path: string, ticks: number) {
  const w = Bun.file(path).writer();
  w.write("game_id,t,price,fair,outcome\n");
  const perGame = 2000, games = Math.ceil(ticks / perGame);
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let g0 = 0; g0 < games; g0 += 8) {
    for (let k = 0; k < perGame; k++) {
      let out = "";
      for (let g = g0; g < Math.min(games, g0 + 8); g++) {
        out += `game-${g},${k},${(rnd() * 0.98 + 0.01).toFixed(3)},${(rnd() * 0.98 + 0.01).toFixed(4)},${g % 2}\n`;
      }
      w.write(out);
    }
  }
  await w.end();
}

async function measure(mode: string, file: string, env: Record<string, string> = {}) {
  const p = Bun.spawn([process.execPath, SELF, "--child", mode, file], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`${mode} failed`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as { ticks: number; ms: number; rssMiB: number };
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], process.argv[4]);
} else {
  const sizes = (process.env.TICKS ?? "1000000,4000000").split(",").map(Number);
  const pg = await throwawayPostgres();
  const dir = mkdtempSync(join(tmpdir(), "gridcast-bench-import-"));
  try {
    console.log("ticks      file MiB  mode       ticks/s     vs parse  peak RSS MiB");
    for (const n of sizes) {
      const file = join(dir, `games-${n}.csv`);
      await writeFile(file, n);
      const mib = (statSync(file).size / 1024 / 1024).toFixed(0);
      const parse = await measure("parse", file);
      const rows = [["parse", parse]] as [string, typeof parse][];
      const modes = (process.env.MODES ?? "pglite,postgres").split(",");
      if (modes.includes("pglite")) rows.push(["pglite", await measure("pglite", file)]);
      if (pg && modes.includes("postgres")) rows.push(["postgres", await measure("postgres", file, { DATABASE_URL: pg.url })]);
      for (const [mode, r] of rows) {
        const rate = r.ticks / (r.ms / 1000);
        const ratio = rate / (parse.ticks / (parse.ms / 1000));
        console.log(`${String(n).padEnd(10)} ${mib.padStart(8)}  ${mode.padEnd(9)} ${rate.toFixed(0).padStart(10)}  ${ratio.toFixed(2).padStart(7)}x  ${r.rssMiB.toFixed(0).padStart(8)}`);
      }
      rmSync(file);
    }
    if (!pg) console.log("(PostgreSQL not found: set DATABASE_URL or install postgresql to include it)");
  } finally {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
