// sentencepiece text normaliser, following google/sentencepiece src/normalizer.cc
// (`Normalizer::Normalize`, `NormalizePrefix`, `DecodePrecompiledCharsMap`) and the darts-clone
// double array it searches (third_party/darts_clone/darts.h, `commonPrefixSearch`). Works on UTF-8
// bytes as the reference does: at each position the longest rule in the precompiled charsmap
// (e.g. nmt_nfkc: NFKC plus whitespace and control-character rules) replaces its match, otherwise
// one character is copied. Then spaces are escaped to "▁", runs of spaces collapse, leading and
// trailing spaces go, and a dummy "▁" prefix is added.

import type { NormalizerSpec } from "./spiece_model.ts";
import { SpieceModelError } from "./spiece_model.ts";

const SPACE = 0x20;
const ESCAPED_SPACE = new Uint8Array([0xe2, 0x96, 0x81]); // U+2581 "▁"
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Byte length of the UTF-8 character that starts with `lead` (sentencepiece `OneCharLen`). */
function oneCharLen(lead: number): number {
  return [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][lead >> 4];
}

/** The precompiled charsmap: a darts-clone double array over UTF-8 keys, values index `strings`. */
class Charsmap {
  readonly units: Uint32Array;
  readonly strings: Uint8Array;

  constructor(blob: Uint8Array, name: string) {
    const fail = (what: string): never => {
      throw new SpieceModelError(`Cannot load sentencepiece model "${name}": ${what}`);
    };
    if (blob.length <= 4) fail(`precompiled_charsmap of ${blob.length} bytes is broken`);
    const trieSize = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
    if (trieSize >= blob.length) {
      fail(`precompiled_charsmap trie size ${trieSize} exceeds the blob size ${blob.length}`);
    }
    if (trieSize % 4 !== 0 || trieSize === 0) {
      fail(`precompiled_charsmap trie size ${trieSize} is not a positive multiple of 4`);
    }
    const units = new Uint32Array(trieSize / 4);
    const view = new DataView(blob.buffer, blob.byteOffset + 4, trieSize);
    for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 * i, true);
    this.units = units;
    this.strings = blob.subarray(4 + trieSize);
  }

  /**
   * Longest key that prefixes `bytes[pos..]` (darts `commonPrefixSearch`, longest result).
   * @returns [matched byte length, replacement bytes] or undefined when no key matches
   */
  longest(bytes: Uint8Array, pos: number): [number, Uint8Array] | undefined {
    const u = this.units;
    // unit fields: label = bits 0-7 plus bit 31 (set on leaves, so they never match a byte),
    // has_leaf = bit 8, offset = bits 10-31 shifted left by 8 when bit 9 is set.
    const offset = (unit: number) => (unit >>> 10) << ((unit & 0x200) >>> 6);
    let node = offset(u[0]);
    let best = 0, value = -1;
    for (let i = pos; i < bytes.length; i++) {
      node ^= bytes[i];
      if (node >= u.length) break;
      const unit = u[node];
      if ((unit & 0x800000ff) >>> 0 !== bytes[i]) break;
      node ^= offset(unit);
      if ((unit >>> 8) & 1) {
        if (node >= u.length) break;
        best = i - pos + 1;
        value = u[node] & 0x7fffffff;
      }
    }
    if (best === 0) return undefined;
    const s = this.strings;
    if (value >= s.length) return undefined;
    let end = value;
    while (end < s.length && s[end] !== 0) end++;
    return [best, s.subarray(value, end)];
  }
}

/** Options beyond the normaliser spec that change normalisation. */
export interface SpieceNormalizerOptions {
  /** From trainer_spec: put the dummy "▁" at the end instead of the start. */
  treatWhitespaceAsSuffix?: boolean;
  /** User-defined pieces: copied verbatim, never normalised (sentencepiece `PrefixMatcher`). */
  userDefined?: readonly string[];
}

/** Normalises text as a sentencepiece model's `normalizer_spec` says. */
export class SpieceNormalizer {
  readonly #spec: NormalizerSpec;
  readonly #map: Charsmap | undefined;
  readonly #suffix: boolean;
  readonly #user: Uint8Array[];

  /**
   * @param spec the model's normalizer_spec
   * @param name the model file name for error messages
   * @param options trainer-spec flags and user-defined pieces
   */
  constructor(spec: NormalizerSpec, name: string, options: SpieceNormalizerOptions = {}) {
    this.#spec = spec;
    this.#map = spec.precompiledCharsmap.length > 0
      ? new Charsmap(spec.precompiledCharsmap, name)
      : undefined;
    this.#suffix = options.treatWhitespaceAsSuffix ?? false;
    this.#user = (options.userDefined ?? []).map((s) => encoder.encode(s));
  }

  /** The normalised form of one prefix of `bytes[pos..]`: [bytes consumed, output bytes]. */
  #prefix(bytes: Uint8Array, pos: number): [number, Uint8Array] {
    let userLen = 0;
    for (const u of this.#user) {
      if (
        u.length > userLen && u.length <= bytes.length - pos &&
        u.every((b, i) => bytes[pos + i] === b)
      ) {
        userLen = u.length;
      }
    }
    if (userLen > 0) return [userLen, bytes.subarray(pos, pos + userLen)];
    const hit = this.#map?.longest(bytes, pos);
    if (hit) return hit;
    const n = Math.min(oneCharLen(bytes[pos]), bytes.length - pos);
    return [n, bytes.subarray(pos, pos + n)];
  }

  /**
   * Normalises `text` (sentencepiece `Normalizer::Normalize`).
   * @param text the raw text
   * @returns the normalised text, with "▁" for spaces when escape_whitespaces is on
   */
  normalize(text: string): string {
    const spec = this.#spec;
    const input = encoder.encode(text);
    const out: number[] = [];
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      while (pos < input.length) {
        const [n, s] = this.#prefix(input, pos);
        if (!(s.length === 1 && s[0] === SPACE)) break;
        pos += n;
      }
    }
    if (pos >= input.length) return "";
    const space = spec.escapeWhitespaces ? ESCAPED_SPACE : new Uint8Array([SPACE]);
    if (!this.#suffix && spec.addDummyPrefix) out.push(...space);
    let prevSpace = spec.removeExtraWhitespaces;
    while (pos < input.length) {
      const [n, s] = this.#prefix(input, pos);
      let i = 0;
      while (prevSpace && i < s.length && s[i] === SPACE) i++;
      if (i < s.length) {
        for (; i < s.length; i++) {
          if (s[i] === SPACE && spec.escapeWhitespaces) out.push(...ESCAPED_SPACE);
          else out.push(s[i]);
        }
        prevSpace = s[s.length - 1] === SPACE;
      }
      pos += n;
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      while (
        out.length >= space.length &&
        space.every((b, i) => out[out.length - space.length + i] === b)
      ) {
        out.length -= space.length;
      }
    }
    if (this.#suffix && spec.addDummyPrefix) out.push(...space);
    return decoder.decode(new Uint8Array(out));
  }
}
