// Output files of the editor: refusing outputs that name an input (compared as real paths, hard
// links included), and atomic replacement (a temporary file in the same folder, then rename), so a
// failed run never leaves a half-written image.

import { basename, dirname, join, resolve, sep } from "node:path";
import { encodeJpeg } from "../image/jpeg_encode.ts";
import { encodePng } from "../image/encode_png.ts";
import type { RgbaImage } from "../image/rgba_image.ts";
import { UsageError } from "./_errors.ts";

/** An OS error message without its code and path: "No such file or directory (os error 2): ..." → "no such file or directory". */
export function osReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const m = /^(.*?)\s*\(os error \d+\)/.exec(message);
  const text = m ? m[1] : message.split("\n")[0];
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * The real path of `path`, following symbolic links; for a path that does not exist yet, the real
 * path of its nearest existing ancestor joined with the rest.
 */
export async function realPathOf(path: string, cwd: string = Deno.cwd()): Promise<string> {
  const abs = resolve(cwd, path);
  try {
    return await Deno.realPath(abs);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(await realPathOf(parent), basename(abs));
  }
}

/** A file or folder that must not be written: an input image, the batch file, the model. */
export interface Guarded {
  /** What it is, for messages: `the input image "cat.png"`. */
  what: string;
  /** Its real path. */
  real: string;
  /** Device and inode, to catch hard links. */
  id?: string;
  /** A folder: nothing inside it may be written either. */
  folder: boolean;
}

async function fileId(path: string): Promise<string | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.ino === null ? undefined : `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Records an input that outputs must not overwrite.
 * @param path the input, relative to `cwd`
 * @param what how messages name it
 * @param folder true for a folder whose contents are protected too
 */
export async function guard(
  path: string,
  what: string,
  folder = false,
  cwd: string = Deno.cwd(),
): Promise<Guarded> {
  const real = await realPathOf(path, cwd);
  return { what, real, id: await fileId(real), folder };
}

/**
 * Checks an output path against the guarded inputs and returns its real path.
 * @param label how messages name the output, e.g. `--out "x.png"`
 * @param path the output, relative to `cwd`
 * @param guarded the inputs
 * @throws {UsageError} when the output is an input, lies inside a guarded folder, or is a folder
 */
export async function checkOutput(
  label: string,
  path: string,
  guarded: readonly Guarded[],
  cwd: string = Deno.cwd(),
): Promise<string> {
  const real = await realPathOf(path, cwd);
  const id = await fileId(real);
  for (const g of guarded) {
    if (real === g.real || (id !== undefined && id === g.id)) {
      throw new UsageError(
        `Refusing to write ${label}: it is ${g.what}, which is never overwritten`,
      );
    }
    if (g.folder && real.startsWith(g.real.endsWith(sep) ? g.real : g.real + sep)) {
      throw new UsageError(`Refusing to write ${label}: it is inside ${g.what}`);
    }
  }
  const stat = await Deno.stat(real).catch(() => undefined);
  if (stat?.isDirectory) throw new UsageError(`Cannot write ${label}: it is a folder`);
  // The nearest existing ancestor must be a folder, or creating the output's folder would fail
  // after all the work is done.
  for (let dir = dirname(real); !stat; dir = dirname(dir)) {
    const s = await Deno.stat(dir).catch(() => undefined);
    if (s?.isDirectory) break;
    if (s) throw new UsageError(`Cannot write ${label}: "${dir}" is a file, not a folder`);
    if (dirname(dir) === dir) break;
  }
  return real;
}

/** The encoder for an output file name: PNG for .png, JPEG (quality 95) for .jpg and .jpeg. */
export function encoderFor(path: string): (image: RgbaImage) => Uint8Array {
  return /\.jpe?g$/i.test(path) ? (im) => encodeJpeg(im, { quality: 95 }) : encodePng;
}

/**
 * Writes a file atomically: `encode()` runs first, the bytes go to a temporary file in the target's
 * folder (created if missing), which is then renamed over the target. On any failure the target is
 * untouched and the temporary file is removed.
 *
 * @param path the file to create or replace
 * @param encode makes the bytes; if it throws, nothing is written
 * @throws {Error} `Cannot write "path": reason` when the file system refuses
 */
export async function writeFileAtomic(
  path: string,
  encode: () => Uint8Array | Promise<Uint8Array>,
): Promise<void> {
  const bytes = await encode();
  const dir = dirname(path);
  const tmp = join(
    dir,
    `.${basename(path)}.${Deno.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  let created = false;
  try {
    await Deno.mkdir(dir, { recursive: true });
    const old = await Deno.stat(path).catch(() => undefined);
    await Deno.writeFile(tmp, bytes, { createNew: true });
    created = true;
    if (old?.isFile && old.mode !== null) await Deno.chmod(tmp, old.mode & 0o777);
    await Deno.rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write "${path}": ${osReason(e)}`, { cause: e });
  }
}
