// Grid values, pairs and the request checks that guard them.
import { describe, expect, it } from "bun:test";
import {
  ParamError, countPairs, formatCombo, gridPairs, gridValues, round9, validateGridParams,
  validateSimulationParams, type GridParams,
} from "../../src/compute/grid.ts";

const base = {
  entry_start: 0.01, entry_stop: 0.03, entry_step: 0.01,
  exit_start: 0, exit_stop: 0.02, exit_step: 0.01,
};

function grid(over: Partial<GridParams> = {}): GridParams {
  return { ...base, fee: 0, train_fraction: 0.6, valid_fraction: 0.2, ...over };
}

/** The ParamError a call throws, so a test can check field and message together. */
function paramError(fn: () => unknown): ParamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParamError);
    return err as ParamError;
  }
  throw new Error("expected a ParamError, nothing was thrown");
}

describe("gridValues", () => {
  it("rounds 0.1 + 0.2 style sums to clean decimals", () => {
    // 0.1 + 2 * 0.1 = 0.30000000000000004 -> 0.3
    expect(gridValues(0.1, 0.3, 0.1)).toEqual([0.1, 0.2, 0.3]);
  });

  it("gives 5 values for 0.01..0.05 step 0.01", () => {
    expect(gridValues(0.01, 0.05, 0.01)).toEqual([0.01, 0.02, 0.03, 0.04, 0.05]);
  });

  it("keeps an inclusive stop that float error would drop", () => {
    // 0.3 / 0.1 = 2.9999999999999996: a bare floor gives 3 values, the 1e-9 gives 4
    expect(gridValues(0, 0.3, 0.1)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it("has one value when start = stop or the step overshoots, none when stop < start", () => {
    expect(gridValues(0.05, 0.05, 0.01)).toEqual([0.05]);
    expect(gridValues(0.05, 0.07, 0.5)).toEqual([0.05]);
    expect(gridValues(0.05, 0.04, 0.01)).toEqual([]);
  });

  it("rounds half away from zero at 9 decimals", () => {
    expect(round9(2.5e-9)).toBe(3e-9);
    expect(round9(-2.5e-9)).toBe(-3e-9);
    expect(round9(1.0000000004)).toBe(1);
    expect(round9(1.0000000006)).toBe(1.000000001);
    expect(round9(-0.1 - 0.2)).toBe(-0.3);
  });
});

describe("gridPairs and countPairs", () => {
  it("lists every (e, x) with x < e, ordered by entry then exit", () => {
    // entries 0.01 0.02 0.03, exits 0 0.01 0.02: 1 + 2 + 3 = 6 pairs
    const { entries, exits } = gridPairs(grid());
    expect([...entries]).toEqual([0.01, 0.02, 0.02, 0.03, 0.03, 0.03]);
    expect([...exits]).toEqual([0, 0, 0.01, 0, 0.01, 0.02]);
    expect(countPairs(grid())).toBe(6);
  });

  it("drops pairs with x = e and entries with no exit below", () => {
    // entries 0.02 0.03 0.04, exits 0.03 0.04: only (0.04, 0.03)
    const p = grid({ entry_start: 0.02, entry_stop: 0.04, exit_start: 0.03, exit_stop: 0.04 });
    const { entries, exits } = gridPairs(p);
    expect([...entries]).toEqual([0.04]);
    expect([...exits]).toEqual([0.03]);
    expect(countPairs(p)).toBe(1);
  });

  it("counts exactly what a brute-force double loop over the values finds", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let t = 0; t < 300; t++) {
      const step = () => [0.001, 0.005, 0.01, 0.025, 0.1, 0.003][Math.floor(rnd() * 6)];
      const p = grid({
        entry_start: Math.round(rnd() * 500) / 1000 + 0.001, entry_stop: Math.round(rnd() * 1000) / 1000, entry_step: step(),
        exit_start: Math.round(rnd() * 500) / 1000, exit_stop: Math.round(rnd() * 1000) / 1000, exit_step: step(),
      });
      const es = gridValues(p.entry_start, p.entry_stop, p.entry_step);
      const xs = gridValues(p.exit_start, p.exit_stop, p.exit_step);
      const want: [number, number][] = [];
      for (const e of es) for (const x of xs) if (x < e) want.push([e, x]);
      const { entries, exits } = gridPairs(p);
      expect(countPairs(p)).toBe(want.length);
      expect(Array.from(entries, (e, k) => [e, exits[k]])).toEqual(want);
    }
  });

  it("counts a fine grid by walking its shorter axis", () => {
    // 1e9 entry values, each above the only exit 0: one step over the exit axis, 1e9 pairs
    const p = grid({ entry_start: 1e-9, entry_stop: 1, entry_step: 1e-9, exit_start: 0, exit_stop: 0, exit_step: 1 });
    const t0 = performance.now();
    expect(countPairs(p)).toBe(1e9);
    // Walking the long axis would take seconds; the bound is loose for a busy shared machine.
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("stops soon after the limit when both axes are fine", () => {
    // 1e9 values on each axis: an exact count would take minutes
    const p = grid({ entry_start: 1e-9, entry_stop: 1, entry_step: 1e-9, exit_start: 0, exit_stop: 1, exit_step: 1e-9 });
    const t0 = performance.now();
    const n = countPairs(p, 1000);
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThan(1000 + 100);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("formatCombo", () => {
  it("shows both values with three decimals", () => {
    expect(formatCombo(0.05, 0.01)).toBe("entry=0.050, exit=0.010");
    expect(formatCombo(0.1, 0)).toBe("entry=0.100, exit=0.000");
  });
});

describe("validateGridParams", () => {
  it("accepts numeric strings (query strings) and fills the defaults", () => {
    const q = { entry_start: "0.01", entry_stop: "0.03", entry_step: "0.01", exit_start: "0", exit_stop: " 0.02 ", exit_step: "1e-2" };
    expect(validateGridParams(q, 100)).toEqual(grid());
  });

  it("accepts the fee range's bounds, 0 and 1, and takes JSON null as absent", () => {
    expect(validateGridParams({ ...base, fee: 1 }, 100).fee).toBe(1);
    expect(validateGridParams({ ...base, fee: "0" }, 100).fee).toBe(0);
    expect(validateGridParams({ ...base, fee: null }, 100).fee).toBe(0);
  });

  it("keeps given fee and fractions, and accepts fractions summing to 1", () => {
    const p = validateGridParams({ ...base, fee: "0.002", train_fraction: 0.7, valid_fraction: "0.3" }, 100);
    expect(p).toMatchObject({ fee: 0.002, train_fraction: 0.7, valid_fraction: 0.3 });
  });

  const cases: [string, Record<string, unknown>, number, string, string][] = [
    ["entry step 0", { entry_step: 0 }, 100, "entry_step", "entry_step: must be > 0"],
    ["negative exit step", { exit_step: "-0.01" }, 100, "exit_step", "exit_step: must be > 0"],
    ["step finer than 9 decimals", { entry_step: 1e-10 }, 100, "entry_step", "entry_step: must be >= 0.000000001"],
    ["entry start above 1", { entry_start: 1.5 }, 100, "entry_start", "entry_start: must be within [0, 1]"],
    ["entry stop below 0", { entry_stop: -0.1 }, 100, "entry_stop", "entry_stop: must be within [0, 1]"],
    ["exit stop above 1", { exit_stop: 2 }, 100, "exit_stop", "exit_stop: must be within [0, 1]"],
    ["exit start below 0", { exit_start: -0.01 }, 100, "exit_start", "exit_start: must be within [0, 1]"],
    ["entry 0 (spec: e > 0)", { entry_start: 0 }, 100, "entry_start", "entry_start: must be > 0"],
    ["entry stop below start", { entry_stop: 0.005 }, 100, "entry_stop", "entry_stop: must be >= entry_start"],
    ["exit stop below start", { exit_start: 0.02, exit_stop: 0.01 }, 100, "exit_stop", "exit_stop: must be >= exit_start"],
    ["negative fee", { fee: -0.001 }, 100, "fee", "fee: must be >= 0"],
    ["a fee of 1e308 (its P&L would overflow to -Infinity)", { fee: 1e308 }, 100, "fee", "fee: must be <= 1 (prices are in [0, 1])"],
    ["a fee above 1", { fee: "1.0001" }, 100, "fee", "fee: must be <= 1 (prices are in [0, 1])"],
    ["an empty string for an optional field", { fee: "" }, 100, "fee", 'fee: must be a number, got ""'],
    ["an empty train fraction", { train_fraction: "" }, 100, "train_fraction", 'train_fraction: must be a number, got ""'],
    ["train fraction above 1", { train_fraction: 1.2 }, 100, "train_fraction", "train_fraction: must be within [0, 1]"],
    ["valid fraction below 0", { valid_fraction: "-0.1" }, 100, "valid_fraction", "valid_fraction: must be within [0, 1]"],
    ["fractions summing past 1", { train_fraction: 0.9, valid_fraction: 0.2 }, 100, "valid_fraction", "valid_fraction: train_fraction + valid_fraction must be <= 1"],
    ["no exit below any entry", { exit_start: 0.03, exit_stop: 0.1 }, 100, "grid", "grid: no pair with exit < entry"],
    ["more pairs than the maximum", {}, 5, "grid", "grid: 6 pairs exceeds the maximum of 5"],
    ["2.5x the maximum", { entry_start: 0.6004, entry_stop: 1, entry_step: 0.0004, exit_start: 0, exit_stop: 0.4998, exit_step: 0.0002 }, 1_000_000, "grid", "grid: 2500000 pairs exceeds the maximum of 1000000"],
    ["a vast grid", { entry_start: 1e-9, entry_stop: 1, entry_step: 1e-9 }, 1_000_000, "grid", "grid: more than 4000000 pairs exceeds the maximum of 1000000"],
    ["a vast grid on both axes", { entry_start: 1e-9, entry_stop: 1, entry_step: 1e-9, exit_stop: 1, exit_step: 1e-9 }, 1_000_000, "grid", "grid: more than 4000000 pairs exceeds the maximum of 1000000"],
    ["a missing field", { entry_stop: undefined }, 100, "entry_stop", "entry_stop: is required"],
    ["an empty string for a required field", { exit_step: "" }, 100, "exit_step", "exit_step: is required"],
    ["a word", { entry_start: "abc" }, 100, "entry_start", 'entry_start: must be a number, got "abc"'],
    ["a NaN string", { fee: "NaN" }, 100, "fee", 'fee: must be a number, got "NaN"'],
    ["an Infinity string", { entry_stop: "Infinity" }, 100, "entry_stop", 'entry_stop: must be a number, got "Infinity"'],
    ["a hex string", { entry_step: "0x1" }, 100, "entry_step", 'entry_step: must be a number, got "0x1"'],
    ["NaN", { exit_start: NaN }, 100, "exit_start", "exit_start: must be a finite number, got NaN"],
    ["Infinity", { exit_stop: Infinity }, 100, "exit_stop", "exit_stop: must be a finite number, got Infinity"],
    ["a boolean", { entry_start: true }, 100, "entry_start", "entry_start: must be a number, got true"],
    ["an array", { train_fraction: [0.5] }, 100, "train_fraction", "train_fraction: must be a number, got [0.5]"],
  ];
  for (const [name, over, max, field, message] of cases) {
    it(`rejects ${name}`, () => {
      const err = paramError(() => validateGridParams({ ...base, ...over }, max));
      expect(err.field).toBe(field);
      expect(err.message).toBe(message);
    });
  }

  it("rejects a body that is not an object", () => {
    for (const body of [null, "x", 3, [1]]) {
      expect(paramError(() => validateGridParams(body, 100)).message).toBe("params: must be an object");
    }
  });
});

describe("validateSimulationParams", () => {
  it("accepts numbers or numeric strings and defaults the fee to 0", () => {
    expect(validateSimulationParams({ entry: "0.05", exit: 0.01 })).toEqual({ entry: 0.05, exit: 0.01, fee: 0 });
    expect(validateSimulationParams({ entry: 0.05, exit: "0", fee: "0.001" })).toEqual({ entry: 0.05, exit: 0, fee: 0.001 });
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["exit equal to entry", { entry: 0.05, exit: 0.05 }, "exit: must be < entry"],
    ["exit above entry", { entry: 0.05, exit: 0.06 }, "exit: must be < entry"],
    ["entry 0", { entry: 0, exit: 0 }, "entry: must be > 0"],
    ["entry above 1", { entry: 1.1, exit: 0 }, "entry: must be within [0, 1]"],
    ["negative exit", { entry: 0.05, exit: -0.01 }, "exit: must be within [0, 1]"],
    ["negative fee", { entry: 0.05, exit: 0, fee: -1 }, "fee: must be >= 0"],
    ["a fee of 1e308", { entry: 0.05, exit: 0, fee: 1e308 }, "fee: must be <= 1 (prices are in [0, 1])"],
    ["a hex fee", { entry: 0.05, exit: 0, fee: "0x1" }, 'fee: must be a number, got "0x1"'],
    ["missing exit", { entry: 0.05 }, "exit: is required"],
    ["a NaN string", { entry: "NaN", exit: 0 }, 'entry: must be a number, got "NaN"'],
  ];
  for (const [name, input, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(paramError(() => validateSimulationParams(input)).message).toBe(message);
    });
  }
});
