// Sharded checkpoints: `<name>.safetensors.index.json` = {"metadata": {...}, "weight_map":
// {key: shard file}} as written by transformers/diffusers `save_pretrained`. Every shard's header
// is read at open time (small) so keys and shapes are known up front; tensor data is read lazily.

import { isJsonObject, readJsonFile } from "./json_file.ts";
import { openSafetensors, type SafetensorsFile } from "./safetensors.ts";
import { SafetensorsError, type TensorInfo } from "./safetensors_header.ts";
import { DEFAULT_CHUNK_BYTES, type TensorChunk, type TensorReader } from "./tensor_reader.ts";

/** A parsed `*.safetensors.index.json`. */
export interface ShardIndex {
  /** The index's `metadata` (e.g. `total_size`), values as written. */
  metadata: Record<string, unknown>;
  /** Shard file name (relative to the index's folder) of every key, in index order. */
  weightMap: Map<string, string>;
}

/**
 * Validates the JSON of a shard index.
 * @param json the parsed file
 * @param name the index path for messages
 * @returns the index; throws SafetensorsError naming the rule
 * @example parseShardIndex({ weight_map: { "a": "model-00001-of-00001.safetensors" } }, "i.json")
 */
export function parseShardIndex(json: unknown, name: string): ShardIndex {
  const fail: (rule: string) => never = (rule) => {
    throw new SafetensorsError(`Cannot read shard index "${name}": ${rule}`);
  };
  if (!isJsonObject(json)) fail("the file is not a JSON object");
  const { metadata = {}, weight_map: map } = json as Record<string, unknown>;
  if (!isJsonObject(metadata)) fail(`"metadata" is not an object`);
  if (!isJsonObject(map)) fail(`"weight_map" is missing or not an object`);
  const weightMap = new Map<string, string>();
  for (const [key, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string" || file === "") {
      fail(`"weight_map" entry "${key}" is ${JSON.stringify(file)}, expected a file name`);
    }
    if (file.startsWith("/") || file.split(/[\\/]/).includes("..")) {
      fail(`"weight_map" entry "${key}" names "${file}", outside the index's folder`);
    }
    weightMap.set(key, file);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

/** A sharded checkpoint seen as one {@link TensorReader}. */
export class ShardedSafetensors implements TensorReader {
  /** The index file. */
  readonly path: string;
  /** The index's `metadata`, non-string values JSON-encoded (e.g. `total_size: "1234"`). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The parsed index. */
  readonly index: ShardIndex;
  #shards: Map<string, SafetensorsFile>;

  /** Use {@link openShardedSafetensors}. */
  constructor(path: string, index: ShardIndex, shards: Map<string, SafetensorsFile>) {
    this.path = path;
    this.index = index;
    this.#shards = shards;
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(index.metadata)) {
      meta[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    this.metadata = meta;
  }

  /** Paths of the shard files, in the order they first appear in the index. */
  shardPaths(): string[] {
    return [...this.#shards.values()].map((s) => s.path);
  }

  /** Keys in index order (keys present in a shard but absent from the index are not exposed). */
  keys(): string[] {
    return [...this.index.weightMap.keys()];
  }

  /** Whether the index lists `key`. */
  has(key: string): boolean {
    return this.index.weightMap.has(key);
  }

  #shard(key: string): SafetensorsFile {
    const file = this.index.weightMap.get(key);
    if (file === undefined) {
      throw new SafetensorsError(
        `Cannot find tensor "${key}" in "${this.path}": the index has no such key`,
      );
    }
    return this.#shards.get(file)!;
  }

  /** Dtype, shape and location (`file` is the shard) of a tensor. */
  info(key: string): TensorInfo {
    return this.#shard(key).info(key);
  }

  /** Exactly the tensor's bytes, read from its shard. */
  readRaw(key: string): Promise<Uint8Array> {
    return this.#shard(key).readRaw(key);
  }

  /** The tensor converted to f32. */
  readF32(key: string): Promise<Float32Array> {
    return this.#shard(key).readF32(key);
  }

  /** The tensor's bytes in chunks of at most `maxChunkBytes`. */
  readChunks(key: string, maxChunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<TensorChunk> {
    return this.#shard(key).readChunks(key, maxChunkBytes);
  }

  /** Closes every shard. */
  close(): void {
    for (const s of this.#shards.values()) s.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens a sharded checkpoint from its index file: parses the index, opens every shard named in it
 * (headers only) and checks that each key is in the shard the index names.
 * @param indexPath e.g. `text_encoder/model.safetensors.index.json`
 * @returns one reader over all shards; close it when done
 * @example
 * ```ts
 * const t5 = await openShardedSafetensors("text_encoder/model.safetensors.index.json");
 * const emb = t5.info("shared.weight");
 * ```
 */
export async function openShardedSafetensors(indexPath: string): Promise<ShardedSafetensors> {
  const json = await readJsonFile(indexPath, "shard index");
  const index = parseShardIndex(json, indexPath);
  const slash = indexPath.lastIndexOf("/");
  const dir = slash < 0 ? "" : indexPath.slice(0, slash + 1);
  const files = [...new Set(index.weightMap.values())];
  const opened = await Promise.allSettled(files.map((f) => openSafetensors(dir + f)));
  const shards = new Map<string, SafetensorsFile>();
  opened.forEach((r, i) => r.status === "fulfilled" && shards.set(files[i], r.value));
  const closeAll = () => shards.forEach((s) => s.close());
  const failed = opened.findIndex((r) => r.status === "rejected");
  if (failed >= 0) {
    closeAll();
    const reason = (opened[failed] as PromiseRejectedResult).reason;
    if (reason instanceof SafetensorsError && /no such file$/.test(reason.message)) {
      throw new SafetensorsError(
        `Cannot open shard "${files[failed]}" listed in "${indexPath}": no such file in "${
          dir || "."
        }"`,
      );
    }
    throw reason;
  }
  for (const [key, file] of index.weightMap) {
    if (!shards.get(file)!.has(key)) {
      closeAll();
      throw new SafetensorsError(
        `Cannot find tensor "${key}" in shard "${dir + file}": the index "${indexPath}" maps it ` +
          `there but the shard has no such key`,
      );
    }
  }
  return new ShardedSafetensors(indexPath, index, shards);
}
