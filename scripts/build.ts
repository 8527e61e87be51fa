// `npm run build`: compiles dist/gridcast, one file carrying the server, its Worker entrypoints,
// the static assets, the migrations and PGlite's wasm/data (all imported with `type: "file"`/"text").
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { WORKER_ENTRYPOINTS } from "../src/workers";

const root = join(import.meta.dir, "..");
// Every `new Worker(new URL(...))` target must be an extra entrypoint (PLATFORM.md).
const WORKERS = Object.values(WORKER_ENTRYPOINTS).map((p) => `src/${p}`).filter((p) => existsSync(join(root, p)));
const outfile = join(root, "dist/gridcast");
mkdirSync(join(root, "dist"), { recursive: true });

const started = performance.now();
const proc = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--minify-syntax", "--minify-whitespace", "--sourcemap=none",
    "src/main.ts", ...WORKERS, "--outfile", outfile],
  { cwd: root, stdout: "inherit", stderr: "inherit" },
);
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1);
console.log(`built ${outfile} (${mb} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
