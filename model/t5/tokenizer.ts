// T5 tokenizer over a sentencepiece Unigram `spiece.model` (SPEC §4): normalise
// (tokenizer_normalizer.ts), segment with the Viterbi search of google/sentencepiece
// src/unigram_model.cc (`Model::EncodeOptimized`, path scores in f32), merge runs of unknown pieces as
// `PopulateSentencePieceText` does, then append EOS, truncate and pad as transformers'
// `T5Tokenizer(text, padding="max_length", max_length=L, truncation=True)` does for PixArt.

import { isNormalPiece, parseSpieceModel, PieceType, SpieceModelError } from "./spiece_model.ts";
import type { SentencePiece, SpieceModel } from "./spiece_model.ts";
import { SpieceNormalizer } from "./tokenizer_normalizer.ts";

/** PixArt's `max_sequence_length`. */
export const DEFAULT_MAX_LENGTH = 120;
const UNK_PENALTY = 10; // kUnkPenalty
const FLT_MIN = 1.1754943508222875e-38;
const FLT_MAX = 3.4028234663852886e38;

/** One piece of a segmentation. */
export interface EncodedPiece {
  /** Vocabulary id. */
  id: number;
  /** The normalised text it covers ("▁" for spaces); a merged run for unknown pieces. */
  piece: string;
  /** Start offset in the normalised text, in code points. */
  start: number;
  /** End offset (exclusive) in the normalised text, in code points. */
  end: number;
}

/** Options for `T5Tokenizer.tokenize`. */
export interface TokenizeOptions {
  /** Sequence length including EOS; longer texts are truncated. Default 120. */
  maxLength?: number;
  /** Receives the truncation warning; default `console.warn`. */
  warn?: (message: string) => void;
}

/** A padded token sequence as the text encoder takes it. */
export interface TokenizedText {
  /** [maxLength] ids: pieces, EOS, then pad ids. */
  inputIds: Int32Array;
  /** [maxLength] 1 for pieces and EOS, 0 for padding. */
  attentionMask: Int32Array;
  /** Tokens the text needs with EOS, before truncation. */
  tokenCount: number;
  /** The truncation warning, when the text did not fit. */
  warning?: string;
}

/** Sentencepiece Unigram tokenizer with T5's special ids (pad, EOS, unk from the model). */
export class T5Tokenizer {
  /** The parsed model. */
  readonly model: SpieceModel;
  /** Padding id (0 for T5). */
  readonly padId: number;
  /** End-of-sequence id (1 for T5). */
  readonly eosId: number;
  /** Unknown-piece id (2 for T5). */
  readonly unkId: number;
  readonly #normalizer: SpieceNormalizer;
  readonly #ids = new Map<string, number>();
  readonly #maxPieceChars: number;
  readonly #minScore: number;
  readonly #maxScore: number;

  /**
   * @param model a parsed spiece.model (see `parseSpieceModel`)
   * @param name the file name for error messages
   */
  constructor(model: SpieceModel, name: string) {
    const { pieces, trainerSpec: t } = model;
    this.model = model;
    const check = (what: string, id: number) => {
      if (!Number.isInteger(id) || id < 0 || id >= pieces.length) {
        throw new SpieceModelError(
          `Cannot load sentencepiece model "${name}": ${what} id ${id} is not a piece id (0..${
            pieces.length - 1
          })`,
        );
      }
      return id;
    };
    this.padId = check("pad", t.padId);
    this.eosId = check("eos", t.eosId);
    this.unkId = pieces.findIndex((p) => p.type === PieceType.UNKNOWN);
    let maxChars = 1, minScore = FLT_MAX, maxScore = FLT_MIN;
    const user: string[] = [];
    pieces.forEach((p, id) => {
      if (!isNormalPiece(p.type)) return;
      this.#ids.set(p.piece, id);
      maxChars = Math.max(maxChars, [...p.piece].length);
      if (p.type === PieceType.USER_DEFINED) user.push(p.piece);
      if (p.type === PieceType.NORMAL) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
    });
    this.#maxPieceChars = maxChars;
    this.#minScore = minScore;
    this.#maxScore = maxScore;
    this.#normalizer = new SpieceNormalizer(model.normalizerSpec, name, {
      treatWhitespaceAsSuffix: t.treatWhitespaceAsSuffix,
      userDefined: user,
    });
  }

  /**
   * Parses spiece.model bytes.
   * @param bytes the file's bytes
   * @param name the file name for error messages
   * @returns the tokenizer
   * @throws {SpieceModelError} for a corrupt or unsupported model
   */
  static fromBytes(bytes: Uint8Array, name = "spiece.model"): T5Tokenizer {
    return new T5Tokenizer(parseSpieceModel(bytes, name), name);
  }

  /** Number of pieces in the model (ids 0..vocabSize-1). */
  get vocabSize(): number {
    return this.model.pieces.length;
  }

  /** @param id a piece id @returns its piece, e.g. "▁a" */
  idToPiece(id: number): string {
    const p: SentencePiece | undefined = this.model.pieces[id];
    if (!p) {
      throw new RangeError(`Cannot look up piece id ${id}: the vocabulary has ${this.vocabSize}`);
    }
    return p.piece;
  }

  /**
   * Normalises text as the model's normalizer_spec says (nmt_nfkc for T5).
   * @param text raw text
   * @returns normalised text with "▁" for spaces and the dummy prefix
   */
  normalize(text: string): string {
    return this.#normalizer.normalize(text);
  }

  /**
   * Segments text into pieces (no EOS); adjacent unknown characters form one `<unk>`.
   * @param text raw text
   * @returns the best-scoring segmentation of the normalised text
   */
  encodePieces(text: string): EncodedPiece[] {
    const chars = [...this.normalize(text)];
    const n = chars.length;
    // best[e]: best score of a path covering chars[0..e); from[e], id[e]: its last piece.
    const best = new Float32Array(n + 1), from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1);
    const unkScore = Math.fround(this.#minScore - UNK_PENALTY);
    for (let s = 0; s < n; s++) {
      const base = best[s];
      let single = false;
      let key = "";
      for (let len = 1; len <= this.#maxPieceChars && s + len <= n; len++) {
        key += chars[s + len - 1];
        const id = this.#ids.get(key);
        if (id === undefined) continue;
        const p = this.model.pieces[id];
        if (p.type === PieceType.UNUSED) continue;
        // As in EncodeOptimized: user-defined pieces score len * max_score - 0.1 (len in bytes).
        // Path scores are f32 sums: the sentencepiece 0.2.3 wheel rounds each candidate to f32
        // before comparing (checked on 3,000 random unicode strings; an f64 compare differs).
        const score = p.type === PieceType.USER_DEFINED
          ? Math.fround(Math.fround(utf8Length(key) * this.#maxScore) - 0.1)
          : p.score;
        const cand = Math.fround(score + base), e = s + len;
        if (from[e] === -1 || cand > best[e]) {
          best[e] = cand;
          from[e] = s;
          ids[e] = id;
        }
        if (len === 1) single = true;
      }
      if (!single) {
        const cand = Math.fround(unkScore + base), e = s + 1;
        if (from[e] === -1 || cand > best[e]) {
          best[e] = cand;
          from[e] = s;
          ids[e] = this.unkId;
        }
      }
    }
    const out: EncodedPiece[] = [];
    for (let e = n; e > 0; e = from[e]) {
      out.push({ id: ids[e], piece: chars.slice(from[e], e).join(""), start: from[e], end: e });
    }
    out.reverse();
    const merged: EncodedPiece[] = [];
    for (const p of out) {
      const last = merged[merged.length - 1];
      if (last && last.id === this.unkId && p.id === this.unkId) {
        last.piece += p.piece;
        last.end = p.end;
      } else merged.push(p);
    }
    return merged;
  }

  /**
   * Token ids of a text without EOS (sentencepiece `encode`).
   * @param text raw text
   * @returns piece ids
   */
  encode(text: string): number[] {
    return this.encodePieces(text).map((p) => p.id);
  }

  /**
   * Ids and attention mask as PixArt's encode_prompt asks transformers for them: pieces, EOS,
   * truncated to the first maxLength-1 pieces plus EOS, padded with the pad id. Truncation is
   * never silent: a warning names the token count and the dropped words.
   * @param text the prompt (already preprocessed: PixArt lowercases and strips)
   * @param options maxLength (default 120) and the warning sink
   * @returns padded ids, mask, the untruncated token count and the warning if any
   */
  tokenize(text: string, options: TokenizeOptions = {}): TokenizedText {
    const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new RangeError(`Cannot tokenize: maxLength must be an integer >= 1, got ${maxLength}`);
    }
    const pieces = this.encodePieces(text);
    const tokenCount = pieces.length + 1;
    const kept = Math.min(pieces.length, maxLength - 1);
    const inputIds = new Int32Array(maxLength).fill(this.padId);
    const attentionMask = new Int32Array(maxLength);
    for (let i = 0; i < kept; i++) inputIds[i] = pieces[i].id;
    inputIds[kept] = this.eosId;
    attentionMask.fill(1, 0, kept + 1);
    const result: TokenizedText = { inputIds, attentionMask, tokenCount };
    if (kept < pieces.length) {
      result.warning = truncationWarning(pieces, kept, tokenCount, maxLength);
      (options.warn ?? console.warn)(result.warning);
    }
    return result;
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

const surface = (pieces: EncodedPiece[]) =>
  pieces.map((p) => p.piece).join("").replaceAll("▁", " ").trim();

/** `Prompt truncated: N tokens exceed the limit of L, dropped "…"` plus the word the cut splits. */
function truncationWarning(
  pieces: EncodedPiece[],
  kept: number,
  count: number,
  limit: number,
): string {
  let msg = `Prompt truncated: ${count} tokens exceed the limit of ${limit}, dropped "${
    surface(pieces.slice(kept))
  }"`;
  if (kept > 0 && !pieces[kept].piece.startsWith("▁")) {
    let a = kept, b = kept;
    while (a > 0 && !pieces[a].piece.startsWith("▁")) a--;
    while (b < pieces.length && (b === kept || !pieces[b].piece.startsWith("▁"))) b++;
    msg += ` (the cut splits the word "${surface(pieces.slice(a, b))}")`;
  }
  return msg;
}

/**
 * Loads a T5 tokenizer from a `spiece.model` file or a folder holding one (a pipeline's
 * `tokenizer/`).
 * @param path the file or folder
 * @returns the tokenizer
 * @throws {SpieceModelError} when the file is missing, unreadable or not a Unigram model
 * @example const tok = await loadT5Tokenizer("models/PixArt-XL-2-512x512/tokenizer");
 */
export async function loadT5Tokenizer(path: string): Promise<T5Tokenizer> {
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) file = `${path.replace(/\/+$/, "")}/spiece.model`;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new SpieceModelError(`Cannot load tokenizer: "${file}" does not exist`);
    }
    throw new SpieceModelError(
      `Cannot load tokenizer: reading "${file}" failed: ${(e as Error).message}`,
    );
  }
  return T5Tokenizer.fromBytes(bytes, file);
}
