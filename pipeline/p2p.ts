// Prompt-to-Prompt word mappers for cross-attention control (SPEC §8.4; prompt-to-prompt
// seq_aligner.py, adapted to T5: no BOS, words start at pieces beginning with "▁").
// A mapper is applied as P_tgt' = P_src · M + P_tgt ⊙ β (β[n] = 1 − α_n; 0 for replace).

/** A cross-attention edit: M [L, L] row-major (source token → target token) and β [L]. */
export interface CrossMapper {
  kind: "replace" | "refine";
  matrix: Float32Array;
  beta: Float32Array;
}

/** A prompt's words as the mappers count them: lowercase, split at whitespace. */
export function promptWords(text: string): string[] {
  return text.toLowerCase().trim().split(/\s+/);
}

/** The token span `[start, end)` of one word's token range (of {@link wordTokenRanges}). */
export function wordTokenSpan(range: readonly number[]): [number, number] {
  return [range[0], range[range.length - 1] + 1];
}

/** Token index ranges of each word: a word starts at a piece beginning with "▁". */
export function wordTokenRanges(pieces: readonly string[]): number[][] {
  const words: number[][] = [];
  pieces.forEach((p, i) => {
    if (p === "</s>" || p === "<pad>") return;
    if (p.startsWith("▁") || words.length === 0) words.push([i]);
    else words[words.length - 1].push(i);
  });
  return words;
}

/**
 * Replace mapper for prompts with the same word count: swapped words map their tokens onto the
 * target word's tokens (one to one, or 1/len spread when counts differ); the rest is identity,
 * shifted past swapped words (prompt-to-prompt get_replacement_mapper_).
 */
export function replacementMapper(
  srcWords: readonly string[],
  tgtWords: readonly string[],
  srcRanges: number[][],
  tgtRanges: number[][],
  length: number,
): CrossMapper {
  if (srcWords.length !== tgtWords.length) {
    throw new RangeError(
      `Cannot replace cross-attention: the prompts have ${srcWords.length} and ${tgtWords.length} words`,
    );
  }
  const swapped = srcWords.map((w, i) => (w !== tgtWords[i] ? i : -1)).filter((i) => i >= 0);
  const m = new Float32Array(length * length);
  let i = 0, j = 0, cur = 0;
  while (i < length && j < length) {
    const s = cur < swapped.length ? srcRanges[swapped[cur]] : undefined;
    if (s && s[0] === i) {
      const t = tgtRanges[swapped[cur]];
      if (s.length === t.length) s.forEach((si, k) => (m[si * length + t[k]] = 1));
      else for (const si of s) for (const ti of t) m[si * length + ti] = 1 / t.length;
      cur++;
      i += s.length;
      j += t.length;
    } else {
      m[i * length + j] = 1;
      i++;
      j++;
    }
  }
  return { kind: "replace", matrix: m, beta: new Float32Array(length) };
}

/**
 * Global alignment of two token sequences (Needleman–Wunsch: match 1, mismatch −1, gap 0):
 * for each target position, the aligned source position or −1 for an inserted token.
 */
export function alignTokens(src: ArrayLike<number>, tgt: ArrayLike<number>): Int32Array {
  const n = src.length, m = tgt.length;
  const score = new Float64Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const diag = score[at(i - 1, j - 1)] + (src[i - 1] === tgt[j - 1] ? 1 : -1);
      score[at(i, j)] = Math.max(diag, score[at(i - 1, j)], score[at(i, j - 1)]);
    }
  }
  const map = new Int32Array(m).fill(-1);
  let i = n, j = m;
  while (i > 0 && j > 0) {
    const diag = score[at(i - 1, j - 1)] + (src[i - 1] === tgt[j - 1] ? 1 : -1);
    if (src[i - 1] === tgt[j - 1] && score[at(i, j)] === diag) {
      map[j - 1] = i - 1;
      i--;
      j--;
    } else if (score[at(i, j)] === score[at(i, j - 1)]) j--; // target token inserted
    else if (score[at(i, j)] === score[at(i - 1, j)]) i--; // source token dropped
    else {
      map[j - 1] = i - 1; // substitution: keep the source position
      i--;
      j--;
    }
  }
  return map;
}

/** Refine mapper: aligned target tokens take the source's attention, new tokens keep their own. */
export function refinementMapper(
  src: ArrayLike<number>,
  tgt: ArrayLike<number>,
  length: number,
): CrossMapper {
  const map = alignTokens(src, tgt);
  const m = new Float32Array(length * length), beta = new Float32Array(length);
  for (let j = 0; j < length; j++) {
    const i = j < map.length ? map[j] : j; // padding maps onto itself
    if (i >= 0) m[i * length + j] = 1;
    else beta[j] = 1;
  }
  return { kind: "refine", matrix: m, beta };
}
