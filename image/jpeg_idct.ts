// 8x8 inverse DCT, a port of libjpeg's accurate integer "islow" method (jidctint.c, the
// Loeffler-Ligtenberg-Moschytz algorithm with 13-bit constants). It is bit-exact with libjpeg-turbo
// on valid data; intermediates are 32-bit like the SIMD versions, so absurd coefficients from
// corrupt files wrap instead of growing (the output is still a byte).

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

/**
 * libjpeg's post-IDCT range-limit table, indexed by the descaled value masked to 10 bits: adds the
 * 128 level shift and clamps to 0..255 (values beyond +-512 wrap as in libjpeg).
 */
const RANGE_LIMIT: Uint8Array = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    const v = (i < 512 ? i : i - 1024) + 128;
    t[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return t;
})();

const PASS1_HALF = 1 << (CONST_BITS - PASS1_BITS - 1);
const PASS1_SHIFT = CONST_BITS - PASS1_BITS;
const PASS2_HALF = 1 << (CONST_BITS + PASS1_BITS + 3 - 1);
const PASS2_SHIFT = CONST_BITS + PASS1_BITS + 3;

/**
 * Dequantizes and inverse-transforms one 8x8 block into 8-bit samples.
 *
 * @param coefs coefficient storage; the block is 64 values in natural (row-major) order
 * @param off index of the block's first coefficient in `coefs`
 * @param qt the quantisation table in natural order (16-bit, as libjpeg's multiplier table)
 * @param out sample plane
 * @param outOff index in `out` of the block's top-left sample
 * @param stride row stride of `out`
 * @param ws scratch space of 64 entries
 */
export function idctIslow(
  coefs: Int16Array,
  off: number,
  qt: Int16Array,
  out: Uint8Array,
  outOff: number,
  stride: number,
  ws: Int32Array,
): void {
  // Pass 1: columns, into `ws`, scaled up by 2**PASS1_BITS.
  for (let c = 0; c < 8; c++) {
    const i = off + c;
    if (
      coefs[i + 8] === 0 && coefs[i + 16] === 0 && coefs[i + 24] === 0 && coefs[i + 32] === 0 &&
      coefs[i + 40] === 0 && coefs[i + 48] === 0 && coefs[i + 56] === 0
    ) {
      const dc = Math.imul(coefs[i], qt[c]) << PASS1_BITS;
      for (let r = 0; r < 64; r += 8) ws[r + c] = dc;
      continue;
    }
    let z2 = Math.imul(coefs[i + 16], qt[c + 16]);
    let z3 = Math.imul(coefs[i + 48], qt[c + 48]);
    let z1 = Math.imul(z2 + z3, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(z3, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(z2, FIX_0_765366865);
    z2 = Math.imul(coefs[i], qt[c]);
    z3 = Math.imul(coefs[i + 32], qt[c + 32]);
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = (tmp0 + tmp3) | 0;
    const tmp13 = (tmp0 - tmp3) | 0;
    const tmp11 = (tmp1 + tmp2) | 0;
    const tmp12 = (tmp1 - tmp2) | 0;

    tmp0 = Math.imul(coefs[i + 56], qt[c + 56]);
    tmp1 = Math.imul(coefs[i + 40], qt[c + 40]);
    tmp2 = Math.imul(coefs[i + 24], qt[c + 24]);
    tmp3 = Math.imul(coefs[i + 8], qt[c + 8]);
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(tmp0, FIX_0_298631336);
    tmp1 = Math.imul(tmp1, FIX_2_053119869);
    tmp2 = Math.imul(tmp2, FIX_3_072711026);
    tmp3 = Math.imul(tmp3, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 = (tmp0 + z1 + z3) | 0;
    tmp1 = (tmp1 + z2 + z4) | 0;
    tmp2 = (tmp2 + z2 + z3) | 0;
    tmp3 = (tmp3 + z1 + z4) | 0;

    ws[c] = (tmp10 + tmp3 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 56] = (tmp10 - tmp3 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 8] = (tmp11 + tmp2 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 48] = (tmp11 - tmp2 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 16] = (tmp12 + tmp1 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 40] = (tmp12 - tmp1 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 24] = (tmp13 + tmp0 + PASS1_HALF) >> PASS1_SHIFT;
    ws[c + 32] = (tmp13 - tmp0 + PASS1_HALF) >> PASS1_SHIFT;
  }

  // Pass 2: rows, descaled by 8 and 2**PASS1_BITS, level-shifted and clamped.
  for (let r = 0; r < 64; r += 8) {
    const o = outOff + (r >> 3) * stride;
    if (
      ws[r + 1] === 0 && ws[r + 2] === 0 && ws[r + 3] === 0 && ws[r + 4] === 0 &&
      ws[r + 5] === 0 && ws[r + 6] === 0 && ws[r + 7] === 0
    ) {
      const v = RANGE_LIMIT[((ws[r] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      for (let c = 0; c < 8; c++) out[o + c] = v;
      continue;
    }
    let z2 = ws[r + 2];
    let z3 = ws[r + 6];
    let z1 = Math.imul(z2 + z3, FIX_0_541196100);
    let tmp2 = z1 + Math.imul(z3, -FIX_1_847759065);
    let tmp3 = z1 + Math.imul(z2, FIX_0_765366865);
    let tmp0 = (ws[r] + ws[r + 4]) << CONST_BITS;
    let tmp1 = (ws[r] - ws[r + 4]) << CONST_BITS;
    const tmp10 = (tmp0 + tmp3) | 0;
    const tmp13 = (tmp0 - tmp3) | 0;
    const tmp11 = (tmp1 + tmp2) | 0;
    const tmp12 = (tmp1 - tmp2) | 0;

    tmp0 = ws[r + 7];
    tmp1 = ws[r + 5];
    tmp2 = ws[r + 3];
    tmp3 = ws[r + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = Math.imul(z3 + z4, FIX_1_175875602);
    tmp0 = Math.imul(tmp0, FIX_0_298631336);
    tmp1 = Math.imul(tmp1, FIX_2_053119869);
    tmp2 = Math.imul(tmp2, FIX_3_072711026);
    tmp3 = Math.imul(tmp3, FIX_1_501321110);
    z1 = Math.imul(z1, -FIX_0_899976223);
    z2 = Math.imul(z2, -FIX_2_562915447);
    z3 = Math.imul(z3, -FIX_1_961570560) + z5;
    z4 = Math.imul(z4, -FIX_0_390180644) + z5;
    tmp0 = (tmp0 + z1 + z3) | 0;
    tmp1 = (tmp1 + z2 + z4) | 0;
    tmp2 = (tmp2 + z2 + z3) | 0;
    tmp3 = (tmp3 + z1 + z4) | 0;

    out[o] = RANGE_LIMIT[((tmp10 + tmp3 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 7] = RANGE_LIMIT[((tmp10 - tmp3 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 1] = RANGE_LIMIT[((tmp11 + tmp2 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 6] = RANGE_LIMIT[((tmp11 - tmp2 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 2] = RANGE_LIMIT[((tmp12 + tmp1 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 5] = RANGE_LIMIT[((tmp12 - tmp1 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 3] = RANGE_LIMIT[((tmp13 + tmp0 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
    out[o + 4] = RANGE_LIMIT[((tmp13 - tmp0 + PASS2_HALF) >> PASS2_SHIFT) & 1023];
  }
}
