// Helpers for the io tests: hand-built safetensors bytes (any header text, any length field), temp
// folders, and a seeded PRNG.

/**
 * Builds a file from a header (object or raw text) and a data area, padding the header with spaces
 * to a multiple of 8 unless `exactHeader` is set.
 */
export function rawSafetensors(
  header: string | Record<string, unknown>,
  data: number | Uint8Array = 0,
  options: { lengthField?: bigint; exactHeader?: boolean } = {},
): Uint8Array {
  let text = typeof header === "string" ? header : JSON.stringify(header);
  if (!options.exactHeader) { while (new TextEncoder().encode(text).length % 8) text += " "; }
  const h = new TextEncoder().encode(text);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, options.lengthField ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

/** Like {@link rawSafetensors} but with raw header bytes (for invalid UTF-8). */
export function rawHeaderBytes(header: Uint8Array, dataBytes = 0): Uint8Array {
  const out = new Uint8Array(8 + header.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  return out;
}

/** Deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes from a seeded PRNG. */
export function randomBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

/** Runs `fn` with a fresh temp folder, removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dit4edit_io_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The fixtures folder written by tools/make_safetensors_fixtures.py. */
export const FIXTURES: string = new URL("../fixtures/safetensors/", import.meta.url).pathname;
