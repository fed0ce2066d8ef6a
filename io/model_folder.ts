// A diffusers pipeline folder (`save_pretrained` / Hub snapshot): `model_index.json` lists the
// components, each in its own folder with `config.json` (`scheduler_config.json` for schedulers,
// `tokenizer_config.json` for tokenizers) and, for models, safetensors weights (single or sharded,
// optionally a variant such as `fp16`). File names follow diffusers `utils/constants.py`.

import { isJsonObject, readJsonFile } from "./json_file.ts";
import { openSafetensors } from "./safetensors.ts";
import { openShardedSafetensors } from "./sharded.ts";
import type { TensorReader } from "./tensor_reader.ts";

/** One component entry of `model_index.json`, e.g. `"transformer": ["diffusers", "X"]`. */
export interface ComponentEntry {
  /** The library that defines the class: "diffusers", "transformers", ... */
  library: string;
  /** The class name, e.g. "PixArtTransformer2DModel". */
  className: string;
}

/** A component's folder and configuration. */
export interface ModelComponent extends ComponentEntry {
  /** Component name, which is also its folder name. */
  name: string;
  /** The component's folder. */
  dir: string;
  /** The config file that was read. */
  configPath: string;
  /** Its parsed JSON object. */
  config: Record<string, unknown>;
}

/** Weights found in a component folder. */
export interface WeightsLocation {
  /** "single" for one .safetensors file, "sharded" for an index file. */
  kind: "single" | "sharded";
  /** The file to open. */
  path: string;
  /** The variant in the file name ("fp16"), or undefined for the plain name. */
  variant?: string;
}

/** Options of {@link findWeights}. */
export interface FindWeightsOptions {
  /** Variant to prefer, e.g. "fp16"; without it the plain files come first, then "fp16" ones. */
  variant?: string;
}

const BASES = ["diffusion_pytorch_model", "model"];

/** Candidate files for one variant, in the order they are tried. */
function candidates(variant?: string): WeightsLocation[] {
  const v = variant ? `.${variant}` : "";
  return [
    ...BASES.map((b) => ({ kind: "single" as const, path: `${b}${v}.safetensors`, variant })),
    ...BASES.map((b) => ({
      kind: "sharded" as const,
      path: `${b}.safetensors.index${v}.json`,
      variant,
    })),
  ];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Finds the safetensors weights in a component folder.
 * @param dir the component folder, e.g. `PixArt-XL-2-512x512/transformer`
 * @param options `variant` to prefer
 * @returns the first candidate that exists; throws Deno.errors.NotFound listing what was tried
 * @example
 * ```ts
 * await findWeights("model/vae");
 * // { kind: "single", path: "model/vae/diffusion_pytorch_model.safetensors" }
 * ```
 */
export async function findWeights(
  dir: string,
  options: FindWeightsOptions = {},
): Promise<WeightsLocation> {
  const { variant } = options;
  const order = variant
    ? [...candidates(variant), ...candidates()]
    : [...candidates(), ...candidates("fp16")];
  for (const c of order) {
    const path = `${dir}/${c.path}`;
    if (await isFile(path)) return { ...c, path };
  }
  let others: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (/\.(bin|pt|pth|ckpt|msgpack|h5)$/.test(e.name)) others.push(e.name);
    }
  } catch { /* reported below as no weights */ }
  others = others.sort();
  const hint = others.length
    ? ` (found ${
      others.map((o) => `"${o}"`).join(", ")
    }, which we cannot read: convert to safetensors)`
    : "";
  throw new Deno.errors.NotFound(
    `Cannot find weights in "${dir}": looked for ${order.map((c) => c.path).join(", ")}${hint}`,
  );
}

/**
 * Opens weights found by {@link findWeights} (or any `.safetensors` / `.index.json` path).
 * @param found the location
 * @returns a reader over the tensors
 * @example const w = await openWeights(await findWeights("model/transformer"));
 */
export function openWeights(found: Pick<WeightsLocation, "kind" | "path">): Promise<TensorReader> {
  return found.kind === "sharded"
    ? openShardedSafetensors(found.path)
    : openSafetensors(found.path);
}

/** The config file name diffusers uses for a component. */
function configName(name: string, className: string): string {
  if (className.endsWith("Scheduler") || name === "scheduler") return "scheduler_config.json";
  if (className.includes("Tokenizer") || name.startsWith("tokenizer")) {
    return "tokenizer_config.json";
  }
  return "config.json";
}

/** A pipeline folder with its parsed `model_index.json`. */
export class ModelFolder {
  /** The folder. */
  readonly path: string;
  /** `_class_name` of the pipeline, e.g. "PixArtAlphaPipeline". */
  readonly className: string;
  /** The whole parsed `model_index.json`. */
  readonly modelIndex: Record<string, unknown>;
  /** Components by name (entries with `[null, null]` are left out). */
  readonly components: ReadonlyMap<string, ComponentEntry>;

  /** Use {@link openModelFolder}. */
  constructor(path: string, modelIndex: Record<string, unknown>) {
    this.path = path;
    this.modelIndex = modelIndex;
    const where = `"${path}/model_index.json"`;
    const cls = modelIndex._class_name;
    if (typeof cls !== "string") {
      throw new TypeError(`Cannot read ${where}: "_class_name" is missing or not a string`);
    }
    this.className = cls;
    const components = new Map<string, ComponentEntry>();
    for (const [name, v] of Object.entries(modelIndex)) {
      if (name.startsWith("_") || !Array.isArray(v)) continue;
      if (v.length === 2 && v[0] === null && v[1] === null) continue;
      if (v.length !== 2 || typeof v[0] !== "string" || typeof v[1] !== "string") {
        throw new TypeError(
          `Cannot read ${where}: component "${name}" is ${
            JSON.stringify(v)
          }, expected [library, class name]`,
        );
      }
      components.set(name, { library: v[0], className: v[1] });
    }
    this.components = components;
  }

  #entry(name: string): ComponentEntry {
    const entry = this.components.get(name);
    if (!entry) {
      throw new Deno.errors.NotFound(
        `Cannot find component "${name}" in "${this.path}/model_index.json": it lists ${
          [...this.components.keys()].map((k) => `"${k}"`).join(", ") || "no components"
        }`,
      );
    }
    return entry;
  }

  /**
   * Reads a component's config file.
   * @param name e.g. "transformer", "vae", "scheduler"
   * @returns the component with its parsed config
   */
  async component(name: string): Promise<ModelComponent> {
    const entry = this.#entry(name);
    const dir = `${this.path}/${name}`;
    if (!(await Deno.stat(dir).then((s) => s.isDirectory, () => false))) {
      throw new Deno.errors.NotFound(
        `Cannot open component "${name}" of "${this.path}": no folder "${dir}"`,
      );
    }
    const configPath = `${dir}/${configName(name, entry.className)}`;
    const config = await readJsonFile(configPath, `the config of component "${name}"`);
    if (!isJsonObject(config)) {
      throw new TypeError(`Cannot read "${configPath}": expected a JSON object`);
    }
    return { name, dir, configPath, config, ...entry };
  }

  /**
   * Finds a model component's weights.
   * @param name the component
   * @param options `variant` to prefer
   * @returns where the weights are
   */
  findWeights(name: string, options: FindWeightsOptions = {}): Promise<WeightsLocation> {
    this.#entry(name);
    return findWeights(`${this.path}/${name}`, options);
  }

  /**
   * Opens a model component's weights.
   * @param name the component
   * @param options `variant` to prefer
   * @returns a reader over its tensors; close it when done
   */
  async openWeights(name: string, options: FindWeightsOptions = {}): Promise<TensorReader> {
    return openWeights(await this.findWeights(name, options));
  }
}

/**
 * Opens a diffusers pipeline folder and parses its `model_index.json`.
 * @param path the folder, e.g. a Hub snapshot of PixArt-alpha/PixArt-XL-2-512x512
 * @returns the folder; throws Deno.errors.NotFound for a missing folder or index, SyntaxError for
 * bad JSON (naming file and position)
 * @example
 * ```ts
 * const folder = await openModelFolder("models/PixArt-XL-2-512x512");
 * const { config } = await folder.component("transformer");
 * const weights = await folder.openWeights("transformer");
 * ```
 */
export async function openModelFolder(path: string): Promise<ModelFolder> {
  const dir = path.replace(/\/+$/, "") || "/";
  const stat = await Deno.stat(dir).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  if (!stat?.isDirectory) {
    throw new Deno.errors.NotFound(
      `Cannot open model folder "${dir}": ${stat ? "it is not a folder" : "no such folder"}`,
    );
  }
  const index = await readJsonFile(`${dir}/model_index.json`, "the pipeline's component list");
  if (!isJsonObject(index)) {
    throw new TypeError(`Cannot read "${dir}/model_index.json": expected a JSON object`);
  }
  return new ModelFolder(dir, index);
}
