// The terminal client bound to this process: its streams, its environment, Ctrl-C. A second
// Ctrl-C while the first one's cancel is under way exits at once.
import type { ParsedArgs } from "../../config/resolve";
import type { ClientCommand } from "./args";
import { clientCommand, EXIT, type ClientIo } from "./commands";

export { CLIENT_BOOLEANS, CLIENT_FLAGS, isClientCommand } from "./args";

const output = (stream: NodeJS.WriteStream) => ({
  write: (text: string) => void stream.write(text),
  isTTY: stream.isTTY === true,
  get columns() {
    return stream.columns;
  },
});

/** Resolves once what was written to the stream has been handed to the OS (a pipe may lag). */
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write("", () => resolve()));

function processIo(): ClientIo {
  return {
    stdout: output(process.stdout),
    stderr: output(process.stderr),
    env: process.env,
    now: () => performance.now(),
    onInterrupt(handler) {
      let pressed = false;
      process.on("SIGINT", () => {
        if (pressed) process.exit(EXIT.interrupted);
        pressed = true;
        handler();
      });
    },
  };
}

/** Runs a client command and exits with its code (an open socket must not keep the process up). */
export async function runClient(command: ClientCommand, args: ParsedArgs): Promise<never> {
  const code = await clientCommand(command, args.positionals, args.flags, processIo());
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
