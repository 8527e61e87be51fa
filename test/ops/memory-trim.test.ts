// The memory trim runs once after a burst of imports or jobs ends, not once per event.
import { expect, test } from "bun:test";
import { createMemoryTrim } from "../../src/ops/memory-trim";
import { eventually } from "../support/eventually";

test("soon() called many times in a row trims once, after the last call", async () => {
  let trims = 0;
  const trim = createMemoryTrim({ delayMs: 30, release: () => trims++ });
  for (let i = 0; i < 5; i++) trim.soon();
  await eventually(() => trims === 1, { what: "one trim" });
  trim.soon();
  await eventually(() => trims === 2, { what: "a second trim for a later burst" });
  trim.stop();
});

test("stop() cancels a pending trim, and later calls do nothing", async () => {
  let trims = 0;
  const trim = createMemoryTrim({ delayMs: 10, release: () => trims++ });
  trim.soon();
  trim.stop();
  trim.soon();
  let later = 0;
  const probe = createMemoryTrim({ delayMs: 50, release: () => later++ });
  probe.soon(); // resolves well after the cancelled one would have run
  await eventually(() => later === 1, { what: "the probe trim" });
  expect(trims).toBe(0);
});
