// Importing games into the store, on both databases: all or nothing, replacement, game order,
// duplicate t found across chunks, and an export that imports back to the same data.
import { expect, test } from "bun:test";
import { importGames, type ImportOptions } from "../../src/games/import";
import { ImportError } from "../../src/games/parse";
import { dataVersion, exportCsv, gameIdsInOrder, listGames, loadGames } from "../../src/games/repository";
import { csv } from "../support/bodies";
import { forEachDatabase } from "../support/db";

const limits = { maxBytes: 1e9, maxGames: 1e5, maxTicksPerGame: 1e6 };
const opts = (o: Partial<ImportOptions> = {}): ImportOptions => ({ format: "csv", limits, ...o });
async function* chunks(text: string, size = 7) {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

forEachDatabase("import", (db) => {
  test("interleaved, unsorted rows are stored per game sorted by t, in game order", async () => {
    const text = csv([["b", 5, 0.5, 0.6, 1], ["a", 2, 0.2, 0.3, 0], ["b", 3, 0.3, 0.4, 1], ["a", 1, 0.1, 0.2, 0], ["c", 1, 0.9, 0.8, 1]]);
    expect(await importGames(db(), chunks(text), opts())).toEqual({ games: 3, ticks: 5 });
    // game order: first t, then id: a(1), c(1), b(3)
    expect((await gameIdsInOrder(db())).ids).toEqual(["a", "c", "b"]);
    const loaded = (await Array.fromAsync(loadGames(db(), ["a", "b"]))).flat();
    expect(Array.from(loaded[0].t)).toEqual([1, 2]);
    expect(Array.from(loaded[0].price)).toEqual([0.1, 0.2]);
    expect(Array.from(loaded[1].fair)).toEqual([0.4, 0.6]);
    expect(loaded[1].outcome).toBe(1);
  });

  test("importing the same file twice leaves the same data, and a stored game id is replaced", async () => {
    const text = csv([["g1", 1, 0.5, 0.5, 0], ["g1", 2, 0.6, 0.4, 0]]);
    await importGames(db(), chunks(text), opts());
    await importGames(db(), chunks(text), opts());
    const once = await listGames(db(), 1, 10);
    expect(once.total).toBe(1);
    expect(once.games[0]).toMatchObject({ id: "g1", ticks: 2, first_t: 1, outcome: 0 });
    await importGames(db(), chunks(csv([["g1", 0, 0.1, 0.1, 1]])), opts());
    expect((await listGames(db(), 1, 10)).games[0]).toMatchObject({ id: "g1", ticks: 1, first_t: 0, outcome: 1 });
  });

  test("a duplicate t rejects the whole file naming the later line, and nothing is stored", async () => {
    await importGames(db(), chunks(csv([["keep", 1, 0.5, 0.5, 0]])), opts());
    const before = await dataVersion(db());
    const rows: (string | number)[][] = [];
    for (let i = 0; i < 30; i++) rows.push([`g${i % 3}`, i, 0.5, 0.5, 1]);
    rows.push(["g1", 4, 0.5, 0.5, 1]); // line 32 repeats g1's t=4 (line 6)
    const err = await importGames(db(), chunks(csv(rows)), opts({})).catch((e) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toBe('line 32: duplicate t 4 in game "g1"');
    expect((await listGames(db(), 1, 10)).games.map((g) => g.id)).toEqual(["keep"]);
    expect(await dataVersion(db())).toBe(before);
  });

  test("the first bad line wins: a duplicate t before a row error is reported", async () => {
    const text = csv([["a", 1, 0.5, 0.5, 0], ["a", 1, 0.4, 0.5, 0], ["a", 2, "x", 0.5, 0]]);
    const err = await importGames(db(), chunks(text), opts()).catch((e) => e);
    expect(err.message).toBe('line 3: duplicate t 1 in game "a"');
    const later = csv([["a", 1, 0.5, 0.5, 0], ["a", 2, "x", 0.5, 0], ["a", 1, 0.4, 0.5, 0]]);
    expect((await importGames(db(), chunks(later), opts()).catch((e) => e)).message).toBe('line 3: price is not a number: "x"');
    expect((await listGames(db(), 1, 10)).total).toBe(0);
  });

  test("the export imports back to the same data, hostile ids included", async () => {
    const ids = ['<script>alert("x")</script>', "comma,id", 'quote"id', "ünïcode"];
    const rows = ids.flatMap((id, k) => [[JSON.stringify(id).replace(/\\"/g, '""'), k, 0.1 + k / 10, 1 / 3, k % 2], [JSON.stringify(id).replace(/\\"/g, '""'), k + 0.5, 0.30000000000000004, 0.7, k % 2]]);
    await importGames(db(), chunks(csv(rows)), opts());
    const first = await new Response(exportCsv(db())).text();
    const before = (await Array.fromAsync(loadGames(db(), (await gameIdsInOrder(db())).ids))).flat();
    expect(before.map((g) => g.id).sort()).toEqual([...ids].sort());
    await importGames(db(), chunks(first, 1000), opts());
    const after = (await Array.fromAsync(loadGames(db(), (await gameIdsInOrder(db())).ids))).flat();
    expect(after).toEqual(before);
    expect(await new Response(exportCsv(db())).text()).toBe(first);
  });

  test("past the memory budget chunks spill to the staging table: same data, duplicates still found", async () => {
    const rows: (string | number)[][] = [];
    for (let i = 0; i < 40; i++) rows.push([`s${i % 4}`, 40 - i, i / 100, 0.5, i % 4 === 0 ? 1 : 0]);
    const spilling = opts({ memoryTicks: 3 });
    expect(await importGames(db(), chunks(csv(rows)), spilling)).toEqual({ games: 4, ticks: 40 });
    const loaded = (await Array.fromAsync(loadGames(db(), ["s0", "s1"]))).flat();
    expect(Array.from(loaded[0].t)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    expect(loaded[0].price[0]).toBe(0.36); // row i=36 has t=4
    rows.push(["s2", 38, 0.5, 0.5, 0]); // line 42 repeats s2's t=38 (line 3)
    const err = await importGames(db(), chunks(csv(rows)), spilling).catch((e) => e);
    expect(err.message).toBe('line 42: duplicate t 38 in game "s2"');
    expect((await listGames(db(), 1, 10)).total).toBe(4);
  });

  test("NDJSON and synthetic labels", async () => {
    const text = '{"game_id":"n1","t":1,"price":0.5,"fair":0.6,"outcome":1}\n{"game_id":"n1","t":2,"price":0.55,"fair":0.6,"outcome":1}\n';
    expect(await importGames(db(), chunks(text), opts({ format: "ndjson", synthetic: true }))).toEqual({ games: 1, ticks: 2 });
    expect((await listGames(db(), 1, 10)).games[0]).toMatchObject({ id: "n1", synthetic: true });
  });
});
