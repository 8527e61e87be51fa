// A job's finished units in the store (src/jobs/repository.ts saveUnits/loadUnits): what a resume
// and the owner of a cluster job fold. They come back bit for bit, a unit stored twice stays the
// first, and on a cluster job only units still claimed are stored, their claims gone with it.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { claimUnits, createClaims, storedUnitsExcept } from "../../src/cluster/job-claims";
import type { UnitPartial } from "../../src/compute/units";
import { gridPlan } from "../../src/jobs/plan";
import * as repo from "../../src/jobs/repository";
import { forEachDatabase } from "../support/db";

const PARAMS = { entry_start: 0.01, entry_stop: 0.1, entry_step: 0.01, exit_start: 0, exit_stop: 0.05, exit_step: 0.01, fee: 0, train_fraction: 0.6, valid_fraction: 0.2 };

/** A unit whose sums hold what float64 can: -0, subnormals, the largest, NaN and infinities. */
function partial(unit: number, pairs = 1350): UnitPartial {
  const odd = [-0, 5e-324, -1.7976931348623157e308, Number.NaN, Number.POSITIVE_INFINITY, 0.1 + 0.2];
  const pnl = Float64Array.from({ length: pairs }, (_, i) => (i < odd.length ? odd[i]! : Math.sin(unit * 7919 + i) * 1e3));
  return {
    unit, pairFrom: unit * pairs, pairTo: (unit + 1) * pairs, gameFrom: 0, gameTo: 64,
    pnl, trades: Float64Array.from({ length: pairs }, (_, i) => (i * unit) % 97), wins: Float64Array.from({ length: pairs }, (_, i) => (i + unit) % 13),
  };
}

const bits = (a: Float64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length * 2));
const same = (a: UnitPartial, b: UnitPartial) => {
  expect([b.unit, b.pairFrom, b.pairTo, b.gameFrom, b.gameTo]).toEqual([a.unit, a.pairFrom, a.pairTo, a.gameFrom, a.gameTo]);
  expect(bits(b.pnl)).toEqual(bits(a.pnl));
  expect(bits(b.trades)).toEqual(bits(a.trades));
  expect(bits(b.wins)).toEqual(bits(a.wins));
};

async function job(db: Parameters<typeof repo.saveUnits>[0]) {
  const id = crypto.randomUUID();
  await repo.insertJob(db, { id, kind: "grid_search", params: gridPlan(PARAMS, 10), gameIds: [], total: 1, ownerNode: "node-a" });
  return id;
}

forEachDatabase("a job's stored units", (db, kind) => {
  test("come back bit for bit, a batch in one statement; a unit stored again keeps its first payload", async () => {
    const id = await job(db());
    const batch = Array.from({ length: 70 }, (_, u) => partial(u));
    await repo.saveUnits(db(), id, batch);
    await repo.saveUnits(db(), id, [{ ...partial(3), pnl: new Float64Array(1350).fill(42) }]);
    const back = (await repo.loadUnits(db(), id)).sort((a, b) => a.unit - b.unit);
    expect(back.length).toBe(70);
    back.forEach((p, i) => same(batch[i]!, p));
    await repo.saveUnits(db(), id, []);
    expect((await repo.loadUnits(db(), id)).length).toBe(70);
  });

  test("go as 16 bytes a pair (counts as int32), and counts that int32 cannot hold exactly still come back bit for bit", async () => {
    const id = await job(db());
    const odd = { ...partial(1, 6), trades: Float64Array.of(2 ** 31, 0.5, -0, 3, 4, 5), wins: Float64Array.of(1, 2, 3, 4, 5, 6) };
    await repo.saveUnits(db(), id, [partial(0, 1350), odd]);
    const sizes = await db().rows<{ unit: number; n: number }>(sql`select unit, octet_length(payload) as n from job_units where job_id = ${id} order by unit`);
    expect(sizes.map((r) => [Number(r.unit), Number(r.n)])).toEqual([[0, 24 + 16 * 1350], [1, 24 + 24 * 6]]);
    const back = (await repo.loadUnits(db(), id)).sort((a, b) => a.unit - b.unit);
    same(partial(0, 1350), back[0]!);
    same(odd, back[1]!);
  });

  test("stored by an older version (counts as float64) are still read, and a payload cut short is refused", async () => {
    const id = await job(db());
    const p = partial(5, 40);
    const old = new ArrayBuffer(24 + 24 * 40); // five int32 bounds, 4 zero bytes, then pnl, trades, wins as float64
    new Int32Array(old, 0, 5).set([p.unit, p.pairFrom, p.pairTo, p.gameFrom, p.gameTo]);
    const f = new Float64Array(old, 24);
    f.set(p.pnl, 0), f.set(p.trades, 40), f.set(p.wins, 80);
    await db().rows(sql`insert into job_units (job_id, unit, payload) values (${id}, 5, decode(${Buffer.from(old).toString("hex")}, 'hex'))`);
    same(p, (await repo.loadUnits(db(), id))[0]!);
    await db().rows(sql`update job_units set payload = substring(payload from 1 for 100) where job_id = ${id}`);
    await expect(repo.loadUnits(db(), id)).rejects.toThrow(/cut short/);
  });

  if (kind === "postgres") {
    test("of a cluster job: only units still claimed are stored, and their claims leave in the same statement", async () => {
      const id = await job(db());
      const now = Date.now();
      await db().rows(sql`insert into nodes (id, instance, host, port, started_at, last_heartbeat, workers, busy, version)
        values ('node-a', 'a', '127.0.0.1', 1, ${now}, ${now}, 2, 0, 'test')`);
      await createClaims(db(), id, 10);
      expect(await claimUnits(db(), id, { node: "node-a", aliveAfter: now - 10_000 }, 4)).toEqual([0, 1, 2, 3]);
      // Unit 2's claim row is gone (the job ended, or the unit was stored and folded): it is not stored.
      // Unit 7 is no node's yet: storing it anyway (a node that lost its lease finished it) is the same bits, kept.
      await db().rows(sql`delete from job_claims where job_id = ${id} and unit = 2`);
      await repo.saveUnits(db(), id, [partial(0), partial(1), partial(2), partial(7)], { claims: true });
      const stored = (await repo.loadUnits(db(), id)).map((p) => p.unit).sort();
      expect(stored).toEqual([0, 1, 7]);
      const left = await db().rows<{ unit: number }>(sql`select unit from job_claims where job_id = ${id} order by unit`);
      expect(left.map((r) => Number(r.unit))).toEqual([3, 4, 5, 6, 8, 9]);
      // The owner's read of what others stored: named units in one statement, or a sweep of all.
      same(partial(1), (await storedUnitsExcept(db(), id, (u) => u === 0, [0, 1, 5]))[0]!);
      expect((await storedUnitsExcept(db(), id, (u) => u === 0)).map((p) => p.unit).sort()).toEqual([1, 7]);
      expect(await storedUnitsExcept(db(), id, () => true)).toEqual([]);
    });
  }
});
