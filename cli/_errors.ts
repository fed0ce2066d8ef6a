// How the editor CLI reports failures: a usage error exits 2, anything else 1; the message is one
// line on stderr, with the stack trace only under --verbose (STYLE §4.6).

/** Exit code for bad flags, bad flag values and refused output paths. */
export const EXIT_USAGE = 2;
/** Exit code for failures: missing or bad files, no adapter, out of memory, ... */
export const EXIT_FAILURE = 1;

/** A mistake in how the command was called; exits with {@linkcode EXIT_USAGE}. */
export class UsageError extends Error {
  /** @param message names the flag, the value given and what is accepted */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit code for an error thrown while running the CLI. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The message of anything thrown, as one line. */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return message.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * The lines to print for an error: `error: <message>`, plus the stack trace under `verbose`.
 *
 * @param error what was thrown
 * @param verbose also print the stack
 * @returns the text for stderr, ending in a newline
 */
export function formatError(error: unknown, verbose: boolean): string {
  let text = `error: ${messageOf(error)}\n`;
  if (verbose && error instanceof Error && error.stack) {
    text += `${error.stack}\n`;
    if (error.cause !== undefined) text += `caused by: ${formatError(error.cause, true)}`;
  }
  return text;
}
