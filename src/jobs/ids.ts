// The job id rule: what a request id may look like wherever one comes in (API and page paths,
// socket topics). The scheduler mints UUIDs; anything else well-formed is simply unknown, and
// anything malformed is answered as unknown without asking the store (which refuses NUL).

const JOB_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export function isJobId(id: unknown): id is string {
  return typeof id === "string" && JOB_ID.test(id);
}
