// Reading a parsed diffusers `scheduler_config.json` (io/json_file.ts accepts Python's -Infinity,
// as in PixArt's "lambda_min_clipped"): each key is checked with an error that names it, the
// value found and what is accepted; missing keys take diffusers' defaults.

/** A value as error messages quote it (JSON, but -Infinity and NaN as Python writes them). */
export function quote(v: unknown): string {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (v === undefined) return "undefined";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Typed, key-checked reads from a scheduler config object; missing keys take the defaults. */
export class ConfigReader {
  /**
   * A reader over one config object.
   * @param json the parsed config
   * @param what the config's name in messages, e.g. "DDIMScheduler config"
   */
  constructor(readonly json: Record<string, unknown>, readonly what: string) {}

  #fail(key: string, v: unknown, expected: string): never {
    throw new TypeError(
      `Cannot load ${this.what}: "${key}" is ${quote(v)}, expected ${expected}`,
    );
  }

  #get(key: string, fallback: unknown): unknown {
    const v = this.json[key];
    return v === undefined ? fallback : v;
  }

  /** A number (±Infinity allowed only when `infinite`). */
  number(key: string, fallback: number, infinite = false): number {
    const v = this.#get(key, fallback);
    if (typeof v !== "number" || Number.isNaN(v) || (!infinite && !Number.isFinite(v))) {
      this.#fail(key, v, infinite ? "a number" : "a finite number");
    }
    return v;
  }

  /** An integer ≥ `min`. */
  integer(key: string, fallback: number, min: number): number {
    const v = this.#get(key, fallback);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      this.#fail(key, v, `an integer >= ${min}`);
    }
    return v;
  }

  /** A boolean. */
  boolean(key: string, fallback: boolean): boolean {
    const v = this.#get(key, fallback);
    if (typeof v !== "boolean") this.#fail(key, v, "true or false");
    return v;
  }

  /** One of `allowed` (or an alias diffusers maps onto one of them). */
  choice<T extends string | number>(
    key: string,
    fallback: T,
    allowed: readonly T[],
    aliases: Readonly<Record<string, T>> = {},
  ): T {
    const v = this.#get(key, fallback);
    if (typeof v === "string" && Object.hasOwn(aliases, v)) return aliases[v];
    if (!allowed.includes(v as T)) {
      this.#fail(key, v, `one of ${allowed.map(quote).join(", ")} (others are not supported)`);
    }
    return v as T;
  }

  /** A key whose only supported value is `supported`; `why` explains the refusal. */
  only(key: string, fallback: unknown, supported: unknown, why: string): void {
    const v = this.#get(key, fallback);
    if (v !== supported) {
      throw new TypeError(
        `Cannot load ${this.what}: "${key}" ${quote(v)} is not supported (need ${
          quote(supported)
        }): ${why}`,
      );
    }
  }

  /** `null` or an array of finite numbers of length `length`. */
  numbersOrNull(key: string, length: number): number[] | null {
    const v = this.#get(key, null);
    if (v === null) return null;
    if (
      !Array.isArray(v) || v.length !== length ||
      !v.every((x) => typeof x === "number" && Number.isFinite(x))
    ) {
      this.#fail(key, v, `null or ${length} finite numbers`);
    }
    return v as number[];
  }
}
