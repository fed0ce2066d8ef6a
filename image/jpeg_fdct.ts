// 8x8 forward DCT and quantisation for the JPEG encoder: a port of libjpeg's accurate integer
// "islow" FDCT (jfdctint.c) and libjpeg-turbo's reciprocal quantiser (jcdctmgr.c), so the encoder
// reproduces `cjpeg`'s coefficients exactly.

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

// Intermediate sums may pass 2**31, but each descaled result fits in 32 bits, and `>>` (modulo
// 2**32) of the exact double sum then gives libjpeg's 64-bit result.
const descale = (x: number, n: number) => (x + (1 << (n - 1))) >> n;

/**
 * Forward DCT in place on 64 level-shifted samples (row-major); outputs are scaled up by 8, as
 * libjpeg's are.
 *
 * @param d the block: samples minus 128 in, coefficients (times 8) out
 */
export function fdctIslow(d: Int32Array): void {
  for (let pass = 0; pass < 2; pass++) {
    // Pass 0 works on rows (step 1 within, 8 between), pass 1 on columns.
    const inner = pass === 0 ? 1 : 8;
    const outer = pass === 0 ? 8 : 1;
    const shift = pass === 0 ? CONST_BITS - PASS1_BITS : CONST_BITS + PASS1_BITS;
    for (let line = 0; line < 8; line++) {
      const o = line * outer;
      const p0 = o, p1 = o + inner, p2 = o + 2 * inner, p3 = o + 3 * inner;
      const p4 = o + 4 * inner, p5 = o + 5 * inner, p6 = o + 6 * inner, p7 = o + 7 * inner;
      const tmp0 = d[p0] + d[p7];
      let tmp7 = d[p0] - d[p7];
      const tmp1 = d[p1] + d[p6];
      let tmp6 = d[p1] - d[p6];
      const tmp2 = d[p2] + d[p5];
      let tmp5 = d[p2] - d[p5];
      const tmp3 = d[p3] + d[p4];
      let tmp4 = d[p3] - d[p4];

      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      if (pass === 0) {
        d[p0] = (tmp10 + tmp11) * (1 << PASS1_BITS);
        d[p4] = (tmp10 - tmp11) * (1 << PASS1_BITS);
      } else {
        d[p0] = descale(tmp10 + tmp11, PASS1_BITS);
        d[p4] = descale(tmp10 - tmp11, PASS1_BITS);
      }
      let z1 = (tmp12 + tmp13) * FIX_0_541196100;
      d[p2] = descale(z1 + tmp13 * FIX_0_765366865, shift);
      d[p6] = descale(z1 + tmp12 * -FIX_1_847759065, shift);

      z1 = tmp4 + tmp7;
      let z2 = tmp5 + tmp6;
      let z3 = tmp4 + tmp6;
      let z4 = tmp5 + tmp7;
      const z5 = (z3 + z4) * FIX_1_175875602;
      tmp4 *= FIX_0_298631336;
      tmp5 *= FIX_2_053119869;
      tmp6 *= FIX_3_072711026;
      tmp7 *= FIX_1_501321110;
      z1 *= -FIX_0_899976223;
      z2 *= -FIX_2_562915447;
      z3 = z3 * -FIX_1_961570560 + z5;
      z4 = z4 * -FIX_0_390180644 + z5;
      d[p7] = descale(tmp4 + z1 + z3, shift);
      d[p5] = descale(tmp5 + z2 + z4, shift);
      d[p3] = descale(tmp6 + z2 + z3, shift);
      d[p1] = descale(tmp7 + z1 + z4, shift);
    }
  }
}

/** Reciprocal, rounding correction and shift for each of the 64 divisors of a table. */
export interface Quantizer {
  /** Multiplier for each coefficient (natural order). */
  recip: Float64Array;
  /** Added before multiplying (half the divisor, adjusted). */
  corr: Float64Array;
  /** Power-of-two factor (2**-shift) applied after multiplying. */
  scale: Float64Array;
}

/**
 * Builds libjpeg-turbo's reciprocal quantiser for a table (jcdctmgr.c compute_reciprocal with
 * 16-bit DCT elements); it rounds to nearest exactly like dividing by `8 * q`.
 *
 * @param table quantisation table in natural order, entries 1..255
 * @returns the quantiser
 */
export function makeQuantizer(table: ArrayLike<number>): Quantizer {
  const recip = new Float64Array(64);
  const corr = new Float64Array(64);
  const scale = new Float64Array(64);
  for (let i = 0; i < 64; i++) {
    const divisor = table[i] * 8;
    let r = 16 + Math.floor(Math.log2(divisor));
    let fq = Math.floor(2 ** r / divisor);
    const fr = 2 ** r % divisor;
    let c = divisor >> 1;
    if (fr === 0) {
      fq = Math.floor(fq / 2);
      r--;
    } else if (fr <= divisor >> 1) {
      c++;
    } else {
      fq++;
    }
    recip[i] = fq;
    corr[i] = c;
    scale[i] = 2 ** -r;
  }
  return { recip, corr, scale };
}

/**
 * Quantises FDCT output (natural order) into `out`, rounding half away from zero.
 *
 * @param d FDCT output
 * @param q the table's quantiser
 * @param out 64 quantised coefficients
 */
export function quantize(d: Int32Array, q: Quantizer, out: Int32Array): void {
  for (let i = 0; i < 64; i++) {
    const t = d[i];
    const v = Math.floor(((t < 0 ? -t : t) + q.corr[i]) * q.recip[i] * q.scale[i]);
    out[i] = t < 0 ? -v : v;
  }
}
