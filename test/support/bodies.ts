// Request bodies for import tests: CSV builders and a body that is held open until released,
// to test what happens while a request is in flight.
export function csv(rows: (string | number)[][], header = "game_id,t,price,fair,outcome"): string {
  return `${header}\n${rows.map((r) => r.join(",")).join("\n")}\n`;
}

/** A streamed body that sends `head`, then waits for release() before sending `tail`. */
export function heldBody(head: string, tail: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(enc.encode(head));
      await gate;
      controller.enqueue(enc.encode(tail));
      controller.close();
    },
  });
  return { stream, release };
}
