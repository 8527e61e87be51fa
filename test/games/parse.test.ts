// The games file parser: every validation rule with its exact line, chunk-boundary independence,
// size limits that trip without buffering, and the batch shape.
import { describe, expect, test } from "bun:test";
import { parseDecimal } from "../../src/games/csv.ts";
import { statusOf } from "../../src/http/errors.ts";
import {
  detectFormat,
  ImportError,
  parseGames,
  type GameFormat,
  type ParseOptions,
  type ParseStats,
  type RowBatch,
} from "../../src/games/parse.ts";

const HEADER = "game_id,t,price,fair,outcome";
const encode = (s: string) => new TextEncoder().encode(s);

/** Yields copies (as a real stream would hand over fresh buffers) of `size`-byte pieces. */
async function* chunked(bytes: Uint8Array, size = Math.max(bytes.length, 1)): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

type Options = Partial<ParseOptions> & { chunk?: number };

async function parse(input: string | Uint8Array, options: Options = {}) {
  const bytes = typeof input === "string" ? encode(input) : input;
  const batches: RowBatch[] = [];
  const gen = parseGames(chunked(bytes, options.chunk), { format: "csv", ...options });
  let result = await gen.next();
  for (; !result.done; result = await gen.next()) batches.push(result.value);
  return { batches, rows: rowsOf(batches), stats: result.value };
}

function rowsOf(batches: RowBatch[]) {
  return batches.flatMap((b) =>
    Array.from({ length: b.length }, (_, i) => ({
      game_id: b.gameIds[i],
      t: b.t[i],
      price: b.price[i],
      fair: b.fair[i],
      outcome: b.outcome[i],
      line: b.line[i],
    })),
  );
}

/** Parses and returns the ImportError the file must be rejected with. */
async function rejection(input: string | Uint8Array, options: Options = {}): Promise<ImportError> {
  try {
    await parse(input, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError);
    return e as ImportError;
  }
  throw new Error("the file was accepted");
}

async function expectRejected(input: string | Uint8Array, message: string, options: Options = {}, status = 422) {
  const e = await rejection(input, options);
  expect(e.message).toBe(message);
  expect(statusOf(e.code)).toBe(status);
}

const csv = (...rows: string[]) => [HEADER, ...rows].join("\n") + "\n";

describe("CSV", () => {
  test("reads columns in any order, ignores extra columns, counts games and ticks", async () => {
    const file = "note,outcome,fair,t,price,game_id\nx,1,0.25,10,0.5,g1\ny,0,0.75,3,0.125,g2\nz,1,0.5,11,1,g1\n";
    const { rows, stats } = await parse(file);
    expect(rows).toEqual([
      { game_id: "g1", t: 10, price: 0.5, fair: 0.25, outcome: 1, line: 2 },
      { game_id: "g2", t: 3, price: 0.125, fair: 0.75, outcome: 0, line: 3 },
      { game_id: "g1", t: 11, price: 1, fair: 0.5, outcome: 1, line: 4 },
    ]);
    expect(stats).toEqual({ games: 2, ticks: 3, lines: 4, bytes: file.length });
  });

  test("header names are trimmed and case-insensitive", async () => {
    const { rows } = await parse(" Game_ID , T,PRICE,fair,Outcome\ng,1,0.5,0.5,0\n");
    expect(rows).toHaveLength(1);
  });

  test("a header without a required column is rejected at line 1", async () => {
    await expectRejected("game_id,t,price,outcome\ng,1,0.5,0\n", 'line 1: missing column "fair"');
    await expectRejected("game_id,t,t,price,fair,outcome\n", 'line 1: duplicate column "t"');
  });

  test("a row with fewer fields than the header names the first missing column", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1", "g,2,0.5,0.5"), 'line 3: missing column "outcome"');
    await expectRejected(csv("g,1,0.5"), 'line 2: missing column "fair"');
    // A short row only lacking an ignored trailing column is fine.
    const { rows } = await parse(`${HEADER},note\ng,1,0.5,0.5,1\n`);
    expect(rows).toHaveLength(1);
  });

  test("a row with more fields than the header is rejected", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1,extra"), "line 2: too many fields: 6, the header has 5");
  });

  test("blank lines are skipped but counted", async () => {
    const { rows, stats } = await parse(`\n${HEADER}\n\ng,1,0.5,0.5,1\n   \n\ng,2,0.5,0.5,1\n\n`);
    expect(rows.map((r) => r.line)).toEqual([4, 7]);
    expect(stats.lines).toBe(8);
  });

  test("RFC 4180 quoted fields: commas, doubled quotes, quoted numbers", async () => {
    const { rows } = await parse(csv('"a,b",1,0.5,0.5,1', '"say ""hi""","2","0.25",0.5,1', ' "padded" ,3,0.5,0.5,1'));
    expect(rows.map((r) => [r.game_id, r.t, r.price])).toEqual([
      ["a,b", 1, 0.5],
      ['say "hi"', 2, 0.25],
      ["padded", 3, 0.5],
    ]);
  });

  test("a quote left open or text after a closing quote is rejected", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1", '"open,1,0.5,0.5,1'), "line 3: unterminated quoted field (a field can't span lines)");
    await expectRejected(csv('"g"x,1,0.5,0.5,1'), "line 2: unexpected character after a quoted field");
  });

  test("spaces around unquoted fields are ignored, inside a number they are not", async () => {
    const { rows } = await parse(csv("g1 , 1 ,\t0.5, 0.5 ,1"));
    expect(rows[0]).toMatchObject({ game_id: "g1", t: 1, price: 0.5, fair: 0.5 });
    await expectRejected(csv("g,1 2,0.5,0.5,1"), 'line 2: t is not a number: "1 2"');
    await expectRejected(csv('g," 1",0.5,0.5,1'), 'line 2: t is not a number: " 1"');
  });
});

describe("row validation", () => {
  test("non-numbers, empty fields, hex, NaN and Infinity are rejected", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1", "g,abc,0.5,0.5,1"), 'line 3: t is not a number: "abc"');
    await expectRejected(csv("g,,0.5,0.5,1"), "line 2: t is empty");
    await expectRejected(csv("g,1,,0.5,1"), "line 2: price is empty");
    await expectRejected(csv("g,0x10,0.5,0.5,1"), 'line 2: t is not a number: "0x10"');
    await expectRejected(csv("g,NaN,0.5,0.5,1"), 'line 2: t is not a number: "NaN"');
    await expectRejected(csv("g,Infinity,0.5,0.5,1"), 'line 2: t is not a number: "Infinity"');
    await expectRejected(csv("g,1e999,0.5,0.5,1"), 'line 2: t is not a number: "1e999"');
    await expectRejected(csv("g,1,0.5,0.5,yes"), 'line 2: outcome is not a number: "yes"');
  });

  test("decimal literals parse exactly as Number() does", async () => {
    const { rows } = await parse(csv("g,-1.5,.5,1.,1", "g,2e3,0.000001,1E-1,1", "g,+7,0,1,1", "g,12345678901234567890.5,0.1,0.3,1"));
    expect(rows.map((r) => [r.t, r.price, r.fair])).toEqual([
      [-1.5, 0.5, 1],
      [2000, 0.000001, 0.1],
      [7, 0, 1],
      [12345678901234567890.5, 0.1, 0.3],
    ]);
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 20_000; i++) {
      const literal = (random() * 10 ** Math.floor(random() * 12 - 6)).toFixed(Math.floor(random() * 12));
      expect(parseDecimal(literal)).toBe(Number(literal));
      expect(parseDecimal(`-${literal}`)).toBe(-Number(literal));
    }
    for (const junk of ["", ".", "-", "+", "1.2.3", "--1", "1e", "0b1", " 1", "1_000"]) expect(parseDecimal(junk)).toBeNaN();
  });

  test("price and fair outside [0, 1] are rejected; the bounds are accepted", async () => {
    await expectRejected(csv("g,1,1.5,0.5,1"), "line 2: price 1.5 is outside [0, 1]");
    await expectRejected(csv("g,1,0,1,1", "g,2,0.5,-0.1,1"), "line 3: fair -0.1 is outside [0, 1]");
  });

  test("an outcome other than 0 or 1 is rejected", async () => {
    await expectRejected(csv("g,1,0.5,0.5,2"), "line 2: outcome 2 is not 0 or 1");
    await expectRejected(csv("g,1,0.5,0.5,0.5"), "line 2: outcome 0.5 is not 0 or 1");
  });

  test("an outcome differing inside one game is rejected at the row that differs", async () => {
    const file = csv("g1,1,0.5,0.5,0", "g2,1,0.5,0.5,1", "g2,2,0.5,0.5,1", "g1,2,0.5,0.5,1");
    await expectRejected(file, 'line 5: outcome 1 differs from outcome 0 earlier in game "g1"');
  });

  test("game_id: empty and over 200 characters are rejected, hostile strings are data", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1", ",2,0.5,0.5,1"), "line 3: game_id is empty");
    await expectRejected(csv(`${"x".repeat(201)},1,0.5,0.5,1`), "line 2: game_id is longer than 200 characters");
    const hostile = ['<script>alert(1)</script>', `it's "quoted"`, "Spiel ü € 😀", "x".repeat(200)];
    const quoted = hostile.map((id, i) => `"${id.replaceAll('"', '""')}",${i},0.5,0.5,1`);
    const { rows } = await parse(csv(...quoted));
    expect(rows.map((r) => r.game_id)).toEqual(hostile);
  });

  test("game_id rule: control characters, lone surrogates, edge whitespace and formula starts are refused at their line", async () => {
    const nd = { format: "ndjson" as GameFormat };
    const row = (id: string) => JSON.stringify({ game_id: id, t: 1, price: 0.5, fair: 0.5, outcome: 1 });
    const refused: [string, string][] = [
      ["a\u0000b", 'game_id "a\\u0000b" contains a control character (U+0000)'],
      ["a\tb", 'game_id "a\\tb" contains a control character (U+0009)'],
      ["a\u0085b", 'game_id "a\\u0085b" contains a control character (U+0085)'],
      ["a\u2028b", 'game_id "a\\u2028b" contains a control character (U+2028)'],
      ["a\ud800b", 'game_id "a\\ud800b" contains a lone surrogate (U+D800), which is not valid Unicode text'],
      ["\udc00", 'game_id "\\udc00" contains a lone surrogate (U+DC00), which is not valid Unicode text'],
      [" g", 'game_id " g" starts or ends with whitespace'],
      ["g\u00a0", 'game_id "g\u00a0" starts or ends with whitespace'],
      ['=HYPERLINK("http://x","y")', 'game_id "=HYPERLINK(\\"http://x\\",\\"y\\")" starts with "=", which spreadsheets run as a formula'],
      ["+1", 'game_id "+1" starts with "+", which spreadsheets run as a formula'],
      ["-2+3", 'game_id "-2+3" starts with "-", which spreadsheets run as a formula'],
      ["@SUM(A1)", 'game_id "@SUM(A1)" starts with "@", which spreadsheets run as a formula'],
    ];
    for (const [id, reason] of refused) {
      // NDJSON escapes carry any of them; the good line before proves the line number is the bad one's.
      await expectRejected([row("ok"), row(id)].join("\n") + "\n", `line 2: ${reason}`, nd);
    }
    // Through CSV the same rule holds for what a quoted field can carry.
    await expectRejected(csv('"a\tb",1,0.5,0.5,1'), 'line 2: game_id "a\\tb" contains a control character (U+0009)');
    await expectRejected(csv('" g",1,0.5,0.5,1'), 'line 2: game_id " g" starts or ends with whitespace');
    await expectRejected(csv('"=1+1",1,0.5,0.5,1'), 'line 2: game_id "=1+1" starts with "=", which spreadsheets run as a formula');
    // A negative numeric id stringifies to "-5" and is refused like the text.
    await expectRejected(row("ok").replace('"ok"', "-5") + "\n", 'line 1: game_id "-5" starts with "-", which spreadsheets run as a formula', nd);
    // Inside an id, all of these are data; a well-formed surrogate pair (an emoji) is fine.
    const fine = ["a=b", "a-b", "x@y", "g 1", "\u{1F600}", "Spiel-ü", "1e5", "a\u200db"];
    const { rows } = await parse(fine.map((id) => row(id)).join("\n") + "\n", nd);
    expect(rows.map((r) => r.game_id)).toEqual(fine);
  });

  test("rows of interleaved games, unsorted by t, all come through with their lines", async () => {
    const file = csv("b,5,0.1,0.2,1", "a,9,0.3,0.4,0", "b,1,0.5,0.6,1", "c,0,0.7,0.8,0", "a,2,0.9,1,0", "b,3,0,0,1");
    const { rows, stats } = await parse(file);
    expect(rows.map((r) => `${r.line}:${r.game_id}@${r.t}`)).toEqual(["2:b@5", "3:a@9", "4:b@1", "5:c@0", "6:a@2", "7:b@3"]);
    expect(stats).toMatchObject({ games: 3, ticks: 6 });
  });
});

describe("empty and binary input", () => {
  test("an empty body, blank lines only, or a header without rows is rejected", async () => {
    await expectRejected("", "line 1: empty file");
    await expectRejected("\n\r\n  \n", "line 1: empty file");
    await expectRejected("", "line 1: empty file", { format: "ndjson" });
    await expectRejected(`${HEADER}\n\n`, "line 1: no rows after the header");
  });

  test("NUL bytes and control characters are refused as binary data at their line", async () => {
    await expectRejected(csv("g,1,0.5,0.5,1", "g\0,2,0.5,0.5,1"), "line 3: binary data: control character 0x00");
    await expectRejected(`${HEADER}\ng,1,0.5\x1b[31m,0.5,1\n`, "line 2: binary data: control character 0x1b");
    await expectRejected('{"game_id":"g","t":1,\0}\n', "line 1: binary data: control character 0x00", { format: "ndjson" });
  });

  test("a carriage return inside a line is refused, whatever the chunking", async () => {
    for (const chunk of [undefined, 1]) {
      await expectRejected(csv("g,1,0.5,0.5,1\rg,2,0.5,0.5,1"), "line 2: carriage return inside a line (lines end with \\n or \\r\\n)", { chunk });
    }
  });

  test("invalid UTF-8 is refused at its line, whatever the chunking", async () => {
    const bytes = new Uint8Array([...encode(csv("g,1,0.5,0.5,1", "ok,2,0.5,0.5,1")), ...encode("g"), 0xc3, 0x28, ...encode(",3,0.5,0.5,1\n")]);
    for (const chunk of [undefined, 1, 2, 5, 64]) await expectRejected(bytes, "line 4: invalid UTF-8", { chunk });
    // A chunk that starts inside a valid character, with the bad byte on a later line.
    const split = new Uint8Array([...encode(csv("é,1,0.5,0.5,1")), ...encode("g"), 0xff, ...encode(",2,0.5,0.5,1\n")]);
    await expectRejected(split, "line 3: invalid UTF-8", { chunk: HEADER.length + 2 });
    // A truncated character at the very end.
    await expectRejected(new Uint8Array([...encode(csv("g,1,0.5,0.5,1")), 0xe2, 0x82]), "line 3: invalid UTF-8 (the file ends inside a character)");
  });

  test("random binary noise is rejected on line 1 with a 422, and detected as neither format", async () => {
    let seed = 12345;
    const noise = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 23);
    const e = await rejection(noise);
    expect(e.line).toBe(1);
    expect(statusOf(e.code)).toBe(422);
    expect(e.reason).toMatch(/^(invalid UTF-8|binary data: control character 0x[0-9a-f]{2})$/);
    expect(detectFormat(undefined, noise)).toBeNull();
    expect(detectFormat("application/octet-stream", new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]))).toBeNull();
  });
});

describe("size limits", () => {
  test("a 3 MB single line is a 413 after reading about maxLineBytes, not the whole line", async () => {
    let pulled = 0;
    async function* oneLongLine() {
      const chunk = new Uint8Array(64 * 1024).fill(0x61); // 3 MB of "a", never a newline
      for (let i = 0; i < 48; i++) {
        pulled++;
        yield chunk;
      }
    }
    let caught: unknown;
    try {
      for await (const _ of parseGames(oneLongLine(), { format: "csv" })) void _;
    } catch (x) {
      caught = x;
    }
    expect(caught).toBeInstanceOf(ImportError);
    expect((caught as ImportError).message).toBe("line 1: line longer than 1048576 bytes");
    expect(statusOf((caught as ImportError).code)).toBe(413);
    expect(pulled).toBe(17); // 16 chunks make exactly 1 MiB: the 17th trips the limit
  });

  test("a rejected request body stream is cancelled, so the upload stops being read", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new Uint8Array(64 * 1024).fill(0x61)), // an endless line
      cancel: () => void (cancelled = true),
    });
    await expect(Array.fromAsync(parseGames(body, { format: "ndjson" }))).rejects.toThrow("line 1: line longer than 1048576 bytes");
    expect(cancelled).toBe(true);
  });

  test("a long line is named by its own line number, in small or in one big chunk", async () => {
    const file = csv("g,1,0.5,0.5,1", `"${"y".repeat(300)}",2,0.5,0.5,1`);
    for (const chunk of [undefined, 7, 128]) {
      await expectRejected(file, "line 3: line longer than 100 bytes", { maxLineBytes: 100, chunk }, 413);
    }
    await expectRejected(`${"z".repeat(101)}\n`, "line 1: line longer than 100 bytes", { maxLineBytes: 100, format: "ndjson" }, 413);
  });

  test("more bytes than maxBytes is a 413", async () => {
    const file = csv(...Array.from({ length: 100 }, (_, i) => `g,${i},0.5,0.5,1`));
    await expectRejected(file, "line 1: file larger than 1000 bytes", { maxBytes: 1000 }, 413);
    const e = await rejection(file, { maxBytes: 1000, chunk: 256 });
    expect(e.reason).toBe("file larger than 1000 bytes");
    expect(e.line).toBeGreaterThan(1); // found part-way, at the line being read
  });

  test("more games than maxGames, or more ticks than maxTicksPerGame, is a 413", async () => {
    await expectRejected(csv("a,1,0.5,0.5,1", "b,1,0.5,0.5,1", "a,2,0.5,0.5,1", "c,1,0.5,0.5,1"), "line 5: more than 2 games in one file", { maxGames: 2 }, 413);
    await expectRejected(csv("a,1,0.5,0.5,1", "b,1,0.5,0.5,1", "a,2,0.5,0.5,1", "a,3,0.5,0.5,1"), 'line 5: game "a" has more than 2 ticks', { maxTicksPerGame: 2 }, 413);
  });
});

describe("line ends and chunk boundaries", () => {
  const rows = ["Spiel-ü-€-😀,1,0.5,0.25,1", "g2,2,0.125,0.75,0", '"q,😀",3,1,0,1', "Spiel-ü-€-😀,0,0.5,0.5,1"];

  test("CRLF line ends and a UTF-8 BOM give the same rows as LF", async () => {
    const lf = await parse(csv(...rows));
    const crlf = await parse(csv(...rows).replaceAll("\n", "\r\n"));
    const bom = await parse(new Uint8Array([0xef, 0xbb, 0xbf, ...encode(csv(...rows).replaceAll("\n", "\r\n"))]));
    expect(crlf.rows).toEqual(lf.rows);
    expect(bom.rows).toEqual(lf.rows);
    expect(lf.rows[0].game_id).toBe("Spiel-ü-€-😀");
  });

  test("1-byte chunks (splitting characters, CRLF pairs and lines) give identical batches", async () => {
    const file = new Uint8Array([0xef, 0xbb, 0xbf, ...encode(`\r\n${csv(...rows).replaceAll("\n", "\r\n")}g2,3,0.5,0.5,0`)]);
    const whole = await parse(file, { batchSize: 3 });
    expect(whole.rows).toHaveLength(5);
    expect(whole.rows.map((r) => r.line)).toEqual([3, 4, 5, 6, 7]);
    for (const chunk of [1, 2, 3, 5, 64]) {
      const split = await parse(file, { batchSize: 3, chunk });
      expect(split.batches).toEqual(whole.batches);
      expect(split.stats).toEqual(whole.stats);
    }
  });

  test("reads a ReadableStream such as a request body", async () => {
    const body = new Response(csv(...rows)).body!;
    const out: RowBatch[] = [];
    for await (const batch of parseGames(body, { format: "csv" })) out.push(batch);
    expect(rowsOf(out)).toEqual((await parse(csv(...rows))).rows);
  });
});

describe("NDJSON", () => {
  const line = (o: Record<string, unknown>) => JSON.stringify({ game_id: "g", t: 1, price: 0.5, fair: 0.5, outcome: 1, ...o });
  const ndjson = (...lines: string[]) => lines.join("\n") + "\n";
  const opts = { format: "ndjson" as GameFormat };

  test("accepts JSON numbers and numeric strings, stringifies numeric game ids, ignores extra keys", async () => {
    const file = ndjson(line({ extra: [1, 2] }), "", line({ game_id: 42, t: "2.5", price: "0.25", fair: "1", outcome: "1" }));
    const { rows, stats } = await parse(file, opts);
    expect(rows).toEqual([
      { game_id: "g", t: 1, price: 0.5, fair: 0.5, outcome: 1, line: 1 },
      { game_id: "42", t: 2.5, price: 0.25, fair: 1, outcome: 1, line: 3 },
    ]);
    expect(stats).toMatchObject({ games: 2, ticks: 2, lines: 3 });
  });

  test("invalid JSON, non-objects, missing keys and bad values name their line", async () => {
    await expectRejected(ndjson(line({}), '{"game_id": "g", t: 1}'), "line 2: invalid JSON", opts);
    await expectRejected(ndjson("[1,2,3]"), "line 1: expected a JSON object", opts);
    await expectRejected(ndjson(line({}), JSON.stringify({ game_id: "g", t: 1, price: 0.5, outcome: 1 })), 'line 2: missing key "fair"', opts);
    await expectRejected(ndjson(line({ t: "abc" })), 'line 1: t is not a number: "abc"', opts);
    await expectRejected(ndjson(line({ t: " 1" })), 'line 1: t is not a number: " 1"', opts);
    await expectRejected(ndjson(line({ t: null })), "line 1: t is not a number: null", opts);
    await expectRejected(ndjson(line({ outcome: true })), "line 1: outcome is not a number: true", opts);
    await expectRejected(ndjson(line({ price: 1.5 })), "line 1: price 1.5 is outside [0, 1]", opts);
    await expectRejected(ndjson(line({ game_id: "" })), "line 1: game_id is empty", opts);
    await expectRejected(ndjson(line({ game_id: { id: 1 } })), 'line 1: game_id is not a string: {"id":1}', opts);
    await expectRejected(ndjson(line({ game_id: "a\u0000b" })), 'line 1: game_id "a\\u0000b" contains a control character (U+0000)', opts);
    await expectRejected('{"game_id":"g","t":1e999,"price":0.5,"fair":0.5,"outcome":1}\n', "line 1: t is not a number: Infinity", opts);
  });
});

describe("batches", () => {
  test("respect batchSize; only the last is short, and its arrays are exactly its length", async () => {
    const file = csv(...Array.from({ length: 25 }, (_, i) => `g${i % 3},${i},0.5,0.5,${i % 3 === 0 ? 1 : 0}`));
    const { batches, rows } = await parse(file, { batchSize: 10 });
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    for (const b of batches) {
      for (const a of [b.gameIds, b.t, b.price, b.fair, b.outcome, b.line]) expect(a.length).toBe(b.length);
    }
    expect(rows.map((r) => r.line)).toEqual(Array.from({ length: 25 }, (_, i) => i + 2));
    // Earlier batches are not overwritten by later ones: the consumer may keep them.
    expect(batches[0].t[0]).toBe(0);
    const exact = await parse(csv(...Array.from({ length: 20 }, (_, i) => `g,${i},0.5,0.5,1`)), { batchSize: 10 });
    expect(exact.batches.map((b) => b.length)).toEqual([10, 10]);
  });

  test("game ids do not keep the long lines they were cut from alive", async () => {
    // One new game per 64 KiB line: if ids were slices of their line, 400 games would pin 400 lines.
    const { heapStats } = await import("bun:jsc");
    async function* chunks() {
      yield encode(`${HEADER},note\n`);
      for (let g = 0; g < 400; g++) yield encode(`game-${g},1,0.5,0.5,1,${"n".repeat(64 * 1024)}\n`);
    }
    const kept: RowBatch[] = [];
    Bun.gc(true);
    const before = heapStats().heapSize;
    for await (const batch of parseGames(chunks(), { format: "csv", batchSize: 1 })) kept.push(batch);
    Bun.gc(true);
    expect(kept).toHaveLength(400);
    expect(heapStats().heapSize - before).toBeLessThan(8 * 2 ** 20);
  });

  test("stats passed in are filled, match the return value, and onBytes reports progress", async () => {
    const stats: ParseStats = { games: -1, ticks: -1, lines: -1, bytes: -1 };
    const seen: number[] = [];
    const file = csv("a,1,0.5,0.5,1", "b,1,0.5,0.5,0", "a,2,0.5,0.5,1");
    const result = await parse(file, { stats, chunk: 16, onBytes: (n) => seen.push(n) });
    expect(stats).toEqual({ games: 2, ticks: 3, lines: 4, bytes: file.length });
    expect(result.stats).toBe(stats);
    expect(seen.at(-1)).toBe(file.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe("ImportError", () => {
  test("carries line, reason and status, with the message `line L: <reason>`", () => {
    const e = new ImportError(7, "t is empty");
    expect(e).toBeInstanceOf(Error);
    expect([e.message, e.line, e.reason, statusOf(e.code), e.name]).toEqual(["line 7: t is empty", 7, "t is empty", 422, "ImportError"]);
    expect(statusOf(new ImportError(1, "too big", "too_large").code)).toBe(413);
  });
});

describe("detectFormat", () => {
  test("goes by the content type or file name first", () => {
    expect(detectFormat("application/x-ndjson")).toBe("ndjson");
    expect(detectFormat("application/json-seq; charset=utf-8")).toBe("ndjson");
    expect(detectFormat("ticks.ndjson")).toBe("ndjson");
    expect(detectFormat("ticks.jsonl")).toBe("ndjson");
    expect(detectFormat("text/csv; charset=utf-8")).toBe("csv");
    expect(detectFormat("Games.CSV")).toBe("csv");
    expect(detectFormat("text/plain")).toBe("csv");
  });

  test("otherwise sniffs the first bytes", () => {
    expect(detectFormat(undefined, encode('  \n{"game_id":"g"'))).toBe("ndjson");
    expect(detectFormat("text/plain", encode('{"game_id":"g"}'))).toBe("ndjson");
    expect(detectFormat("application/octet-stream", encode(`\ufeff${HEADER}\r\n`))).toBe("csv");
    expect(detectFormat(undefined, encode("game_id,t,pri"))).toBe("csv");
    expect(detectFormat(undefined, new Uint8Array([...encode("game_id,é,"), 0xc3]))).toBe("csv"); // cut inside a character
    expect(detectFormat(undefined, encode("just some words"))).toBeNull();
    expect(detectFormat(undefined, new Uint8Array([0, 1, 2, 3]))).toBeNull();
    expect(detectFormat()).toBeNull();
  });
});
