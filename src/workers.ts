// Where Worker entrypoints live. Kept in one module at the top of src/ because inside the
// compiled binary every module's import.meta.url is the bundle's root, so worker URLs must be
// written relative to src/ (PLATFORM.md); scripts/build.ts compiles each as an extra entrypoint.
export const WORKER_ENTRYPOINTS = {
  pgliteInitdb: "db/pglite-initdb.ts",
  compute: "compute/worker.ts",
} as const;

export function workerUrl(name: keyof typeof WORKER_ENTRYPOINTS): URL {
  return new URL(`./${WORKER_ENTRYPOINTS[name]}`, import.meta.url);
}
