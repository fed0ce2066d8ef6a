// The single error class every image decoder throws, so callers (and fuzz tests) can tell a refusal
// of bad input from a crash.

/** Thrown by `decodeImage` for anything it cannot decode: corrupt, truncated, unsupported or too large. */
export class ImageDecodeError extends Error {
  /** @param message names the problem, e.g. `Cannot decode PNG: bad CRC in chunk "IDAT"` */
  constructor(message: string) {
    super(message);
    this.name = "ImageDecodeError";
  }
}
