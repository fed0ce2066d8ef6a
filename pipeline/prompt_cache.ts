// On-disk cache of encoded prompts (T5 hidden states, mask, token ids), so a prompt seen before
// skips the text encoder: T5-XXL is 9.5 GB in f16 and dominates load time and memory (SPEC §10).
// One safetensors file per prompt, named by SHA-256 of the prompt and the checkpoint's identity,
// written atomically; an entry that fails any check is reported and rewritten, never trusted.

import { readSafetensorsBytes } from "../io/safetensors.ts";
import { writeSafetensors } from "../io/safetensors_write.ts";

/** Bumped when the entry layout or what the key covers changes (old entries then miss). */
export const PROMPT_CACHE_VERSION = "1";

const FORMAT = "dit4edit-prompt-cache";
/** Data sections up to this size are hashed whole; larger ones by sampled windows. */
const WHOLE_BYTES = 1 << 20;
const WINDOWS = 16, WINDOW_BYTES = 4096;

const utf8 = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return out.subarray(0, got);
}

/**
 * What identifies a safetensors file's content without reading it all: its size, its header
 * (names, dtypes, shapes, offsets) and its data (whole up to 1 MiB, else 16 windows of 4 KiB
 * spread over it, which tells fine-tunes of one architecture apart).
 */
async function safetensorsFingerprint(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const first8 = await readAt(file, 0, Math.min(8, size));
  const n = first8.length === 8
    ? Math.min(Number(new DataView(first8.buffer).getBigUint64(0, true)), size - 8)
    : 0;
  const start = first8.length + n, data = size - start;
  const parts = [utf8.encode(`safetensors ${size}\n`), first8, await readAt(file, 8, n)];
  if (data <= WHOLE_BYTES) parts.push(await readAt(file, start, data));
  else {
    for (let i = 0; i < WINDOWS; i++) {
      const at = start + Math.floor((i * (data - WINDOW_BYTES)) / (WINDOWS - 1));
      parts.push(await readAt(file, at, WINDOW_BYTES));
    }
  }
  return concat(parts);
}

/** The files and settings that decide what the text encoder returns for a prompt. */
export interface TextEncoderIdentityInput {
  /** Weight files: a `.safetensors` file, or a shard index (`.json`) followed by its shards. */
  weightFiles: readonly string[];
  /** The text encoder's `config.json`. */
  configFile: string;
  /** The tokenizer's `spiece.model`. */
  tokenizerFile: string;
  /** Tokens per prompt (pieces, EOS and padding). */
  maxLength: number;
  /** Weight storage on the device ("f16" or "f32"): it changes the embeddings' low bits. */
  dtype: string;
}

/**
 * Digests a text encoder checkpoint and the settings it runs with: the cache key of every prompt
 * includes it, so another checkpoint, tokenizer, length or storage dtype never hits.
 *
 * @param input the files and settings; a few KiB to about 1 MB are read from each file
 * @returns a hex SHA-256
 * @example
 * ```ts ignore
 * const id = await textEncoderIdentity({
 *   weightFiles: ["m/text_encoder/model.safetensors"],
 *   configFile: "m/text_encoder/config.json",
 *   tokenizerFile: "m/tokenizer/spiece.model",
 *   maxLength: 120,
 *   dtype: "f16",
 * });
 * ```
 */
export async function textEncoderIdentity(input: TextEncoderIdentityInput): Promise<string> {
  const parts = [
    utf8.encode(`${FORMAT} ${PROMPT_CACHE_VERSION}\nmax_length ${input.maxLength}\n`),
    utf8.encode(`dtype ${input.dtype}\n`),
    utf8.encode(`config ${await sha256(await Deno.readFile(input.configFile))}\n`),
    utf8.encode(`tokenizer ${await sha256(await Deno.readFile(input.tokenizerFile))}\n`),
  ];
  for (const f of input.weightFiles) {
    const bytes = f.endsWith(".json") ? await Deno.readFile(f) : await safetensorsFingerprint(f);
    parts.push(utf8.encode(`weights ${await sha256(bytes)}\n`));
  }
  return await sha256(concat(parts));
}

/** A cached prompt, on the host. */
export interface CachedPrompt {
  /** T5 hidden states [1, L, d], f32. */
  embeds: Float32Array;
  /** [1, L], 1 for tokens and EOS. */
  mask: Float32Array;
  /** [L] token ids. */
  ids: Int32Array;
}

/** Where an entry's data must agree with the prompt being encoded. */
export interface PromptCacheExpect {
  /** The ids the tokenizer gives now (a stale or misplaced entry has others). */
  ids: Int32Array;
  /** The mask the tokenizer gives now. */
  mask: Float32Array;
  /** The encoder's width d. */
  dModel: number;
}

function errorText(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

function equalArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A folder of encoded prompts for one text encoder identity. Entries are
 * `<sha256 of identity and prompt>.safetensors`; nothing else in the folder is read or written.
 * `loadPipeline(dir, { promptCache })` uses it in `encodePrompt`.
 *
 * @example
 * ```ts ignore
 * const cache = new PromptCache("/tmp/prompts", await textEncoderIdentity(input));
 * const hit = await cache.read("a cat", { ids, mask, dModel: 4096 }, console.warn);
 * if (!hit) await cache.write("a cat", { embeds, mask, ids }, console.warn);
 * ```
 */
export class PromptCache {
  /** The cache folder (created on first write). */
  readonly dir: string;
  /** {@link textEncoderIdentity} of the checkpoint whose prompts this caches. */
  readonly identity: string;

  /**
   * @param dir the cache folder
   * @param identity the text encoder's identity digest
   */
  constructor(dir: string, identity: string) {
    this.dir = dir.replace(/\/+$/, "") || "/";
    this.identity = identity;
  }

  /** The entry key of a (preprocessed) prompt: SHA-256 of the identity and the text. */
  key(text: string): Promise<string> {
    return sha256(utf8.encode(`${this.identity}\n${text}`));
  }

  /** The entry file of a key. */
  path(key: string): string {
    return `${this.dir}/${key}.safetensors`;
  }

  /**
   * Reads the entry of `text`. A missing entry is a silent miss; an entry that is unreadable,
   * truncated, for another prompt or checkpoint, or whose ids, mask, shapes or checksum disagree
   * is reported through `warn` and also a miss (the caller encodes again and rewrites it).
   *
   * @param text the preprocessed prompt
   * @param expect what the entry must agree with
   * @param warn receives the reason an entry is ignored
   * @returns the cached prompt, or undefined
   */
  async read(
    text: string,
    expect: PromptCacheExpect,
    warn: (message: string) => void,
  ): Promise<CachedPrompt | undefined> {
    const key = await this.key(text);
    const path = this.path(key);
    let bytes: Uint8Array;
    try {
      const stat = await Deno.lstat(path);
      if (!stat.isFile) throw new Error("it is not a regular file");
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      warn(`Ignoring prompt cache entry "${path}": ${errorText(e)}; encoding the prompt again`);
      return undefined;
    }
    try {
      return await this.#check(bytes, path, key, text, expect);
    } catch (e) {
      const why = errorText(e).replace(`Cannot read safetensors header of "${path}": `, "");
      warn(`Ignoring prompt cache entry "${path}": ${why}; encoding the prompt again`);
      return undefined;
    }
  }

  async #check(
    bytes: Uint8Array,
    path: string,
    key: string,
    text: string,
    expect: PromptCacheExpect,
  ): Promise<CachedPrompt> {
    const st = readSafetensorsBytes(bytes, path);
    const m = st.metadata;
    if (m.format !== FORMAT || m.version !== PROMPT_CACHE_VERSION) {
      throw new Error(`it is not a version ${PROMPT_CACHE_VERSION} entry`);
    }
    if (m.key !== key || m.identity !== this.identity || m.prompt !== text) {
      throw new Error("it belongs to another prompt or checkpoint");
    }
    const L = expect.ids.length, d = expect.dModel;
    const want: Record<string, [string, number[]]> = {
      embeds: ["F32", [1, L, d]],
      mask: ["F32", [1, L]],
      ids: ["I32", [L]],
    };
    for (const [name, [dtype, shape]] of Object.entries(want)) {
      const info = st.has(name) ? st.info(name) : undefined;
      if (!info || info.dtype !== dtype || !equalArrays(info.shape, shape)) {
        throw new Error(`tensor "${name}" is missing or not ${dtype} [${shape.join(", ")}]`);
      }
    }
    const raw = st.raw("embeds");
    if (await sha256(raw) !== m.embeds_sha256) throw new Error("the embeddings' checksum differs");
    const ids = new Int32Array(st.raw("ids").slice().buffer);
    const mask = new Float32Array(st.raw("mask").slice().buffer);
    if (!equalArrays(ids, expect.ids) || !equalArrays(mask, expect.mask)) {
      throw new Error("its token ids differ from the tokenizer's");
    }
    return { embeds: new Float32Array(raw.slice().buffer), mask, ids };
  }

  /**
   * Writes the entry of `text` atomically (temporary file, then rename). Creates the folder if
   * needed. Replaces only a regular file with the entry's own name; a folder or link there is
   * left alone. Failures (permissions, a full disk) are reported through `warn`, never thrown.
   *
   * @param text the preprocessed prompt
   * @param entry the encoded prompt
   * @param warn receives the reason nothing was written
   * @returns true when the entry is in place
   */
  async write(
    text: string,
    entry: CachedPrompt,
    warn: (message: string) => void,
  ): Promise<boolean> {
    const key = await this.key(text);
    const path = this.path(key);
    const L = entry.ids.length;
    try {
      if (L === 0 || entry.embeds.length % L !== 0) {
        throw new RangeError(`embeddings of ${entry.embeds.length} values for ${L} tokens`);
      }
      await Deno.mkdir(this.dir, { recursive: true });
      const old = await Deno.lstat(path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      });
      if (old && !old.isFile) throw new Error("something other than a cache entry is there");
      const embeds = new Uint8Array(
        entry.embeds.buffer,
        entry.embeds.byteOffset,
        entry.embeds.byteLength,
      );
      await writeSafetensors(path, {
        embeds: { dtype: "F32", shape: [1, L, entry.embeds.length / L], data: entry.embeds },
        mask: { dtype: "F32", shape: [1, L], data: entry.mask },
        ids: { dtype: "I32", shape: [L], data: entry.ids },
      }, {
        format: FORMAT,
        version: PROMPT_CACHE_VERSION,
        key,
        identity: this.identity,
        prompt: text,
        embeds_sha256: await sha256(embeds),
      });
      return true;
    } catch (e) {
      warn(`Cannot write prompt cache entry "${path}": ${errorText(e)}`);
      return false;
    }
  }
}
