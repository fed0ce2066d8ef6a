// Tiled VAE encode/decode (model/vae/tiling.ts). The crop and blend kernels against their CPU
// twins on random tiles; then parity with diffusers 0.42.1 AutoencoderKL.enable_tiling() on the
// tiny fixture VAE (tools/make_model_fixtures.py, vae_reference.safetensors `tiled.*`: a 56x40
// image, tile_sample_min_size 32, tile_latent_min_size 8, tile_overlap_factor 0.25, so 3x2 tiles
// with clipped last tiles); the automatic policy; bad settings; and bounded device memory.

import { assertEquals, assertLess, assertThrows } from "@std/assert";
import { parseVaeConfig } from "../../model/vae/config.ts";
import { AutoencoderKL } from "../../model/vae/autoencoder_kl.ts";
import {
  axisTiles,
  cropTile,
  resolveVaeTiling,
  runTiled,
  type TileGeometry,
} from "../../model/vae/tiling.ts";
import { blendTilesRef, cropTileRef, type HostTile } from "../../model/vae/tiling_ref.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { scope } from "../../tensor/scope.ts";
import type { Gpu } from "../../tensor/device.ts";
import { assertClose, F16_TOL, F32_TOL, GPU_TEST, randomArray, testGpu } from "../_harness.ts";
import { config, FORWARD_TOL, reference, upload, weights } from "./_fixtures.ts";

const TILES = { tileSampleMinSize: 32, tileOverlapFactor: 0.25 };
// Tiled vs untiled on the fixture, measured (ours and diffusers' own tiled-vs-untiled agree to
// 1e-5): max abs 1.0484 (encode mean, values up to 3.25) and 3.6999 (decode, values up to 7.0);
// mean abs 0.118 and 0.298. The tiny random VAE with 32-pixel tiles is a worst case: every tile
// has its own GroupNorm statistics and mid-block attention.
const SEAM_MEAN = { maxAbs: 1.1, meanAbs: 0.13 };
const SEAM_DECODE = { maxAbs: 3.8, meanAbs: 0.31 };

let shared: AutoencoderKL | undefined;
async function tinyVae(gpu: Gpu): Promise<AutoencoderKL> {
  shared ??= await AutoencoderKL.load(
    await weights(gpu, "tiny-pixart/vae/diffusion_pytorch_model.safetensors"),
    parseVaeConfig(await config("tiny-pixart/vae/config.json")),
  );
  return shared;
}

function absDiff(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; meanAbs: number } {
  assertEquals(a.length, b.length);
  let m = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Math.max(m, d), s += d;
  }
  return { maxAbs: m, meanAbs: s / a.length };
}

Deno.test({
  name: "cropTile() matches cropTileRef() exactly on [2, 3, 13, 11] windows",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const x: HostTile = { data: randomArray(2 * 3 * 13 * 11, 5), shape: [2, 3, 13, 11] };
    const t = Tensor.from(gpu, x.data, x.shape);
    for (const [top, left, h, w] of [[0, 0, 13, 11], [4, 3, 7, 8], [12, 10, 1, 1], [5, 0, 8, 5]]) {
      const y = cropTile(t, top, left, h, w);
      assertEquals(y.shape, [2, 3, h, w]);
      assertEquals(await y.toArray(), cropTileRef(x, top, left, h, w).data);
      y.dispose();
    }
    assertThrows(() => cropTile(t, 10, 0, 4, 4), RangeError, "Cannot crop 4x4 at (10, 0)");
    t.dispose();
  },
});

// Random "tile outputs" at twice the input resolution, stitched by runTiled() (crop + blend
// kernels) and by diffusers' in-place blend_v/blend_h loop (blendTilesRef).
const GEOMETRIES: [string, TileGeometry][] = [
  ["overlap 0.25", { tile: 8, stride: 6, extent: 4, rowLimit: 12, outScale: 2 }],
  ["overlap 0.5", { tile: 8, stride: 4, extent: 8, rowLimit: 8, outScale: 2 }],
  ["no overlap", { tile: 8, stride: 8, extent: 0, rowLimit: 16, outScale: 2 }],
];

for (const [label, g] of GEOMETRIES) {
  Deno.test({
    name:
      `runTiled() blends random tiles like diffusers' blend_v/blend_h (${label}, 19x23 input, ` +
      "f32 atol 1e-5 rtol 1e-4, f16 atol 1e-3 rtol 1e-2)",
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      const rows = axisTiles(19, g), cols = axisTiles(23, g);
      for (const dtype of gpu.f16 ? ["f32", "f16"] as const : ["f32"] as const) {
        const round = (a: Float32Array) =>
          dtype === "f16" ? Float32Array.from(new Float16Array(a)) : a;
        const host: HostTile[][] = rows.map((r, i) =>
          cols.map((c, j) => {
            const shape: HostTile["shape"] = [2, 3, r.outLen, c.outLen];
            return { data: round(randomArray(6 * r.outLen * c.outLen, 100 * i + j)), shape };
          })
        );
        const x = Tensor.from(gpu, new Float32Array(2 * 19 * 23), [2, 1, 19, 23], dtype);
        const y = scope(() =>
          runTiled(x, g, (crop, i, j) => {
            assertEquals(crop.shape, [2, 1, rows[i].inLen, cols[j].inLen]);
            return Tensor.from(gpu, host[i][j].data, host[i][j].shape, dtype);
          })
        );
        const ref = blendTilesRef(host, g.extent, g.rowLimit);
        assertEquals(y.shape, [2, 3, 38, 46]);
        assertEquals(ref.shape, [2, 3, 38, 46]);
        assertClose(await y.toArray(), ref.data, dtype === "f16" ? F16_TOL : F32_TOL, dtype);
        x.dispose(), y.dispose();
      }
    },
  });
}

Deno.test({
  name: "runTiled() with an identity tile function reproduces its input (overlap 0.25)",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const data = randomArray(3 * 29 * 17, 9);
    const x = Tensor.from(gpu, data, [1, 3, 29, 17]);
    const g = { tile: 8, stride: 6, extent: 2, rowLimit: 6, outScale: 1 };
    const y = scope(() => runTiled(x, g, (t) => t));
    // a·(1 − w) + a·w rounds to within an ulp or so of a
    assertClose(await y.toArray(), data, { atol: 1e-6, rtol: 1e-6 }, "identity");
    x.dispose(), y.dispose();
  },
});

Deno.test({
  name: "AutoencoderKL tiled encodeMean and decode match diffusers enable_tiling()",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const vae = await tinyVae(gpu);
    const ref = await reference("vae_reference.safetensors");
    assertEquals(JSON.parse(ref.metadata.tiling), {
      tile_latent_min_size: 8,
      tile_overlap_factor: 0.25,
      tile_sample_min_size: 32,
    });
    const image = await upload(gpu, ref, "tiled.input.image"); // [1, 3, 56, 40]
    const latents = await upload(gpu, ref, "tiled.input.latents"); // [1, 4, 14, 10]
    const tiling = { ...TILES, mode: "always" } as const;
    const mean = vae.encodeMean(image, { tiling });
    assertEquals(mean.shape, [1, 4, 14, 10]);
    const tiledMean = await mean.toArray();
    assertClose(tiledMean, await ref.readF32("tiled.encode.mean"), FORWARD_TOL, "tiled mean");
    const decoded = vae.decode(latents, { tiling });
    assertEquals(decoded.shape, [1, 3, 56, 40]);
    const tiledSample = await decoded.toArray();
    assertClose(tiledSample, await ref.readF32("tiled.decode.sample"), FORWARD_TOL, "tiled decode");
    // our untiled path against diffusers' untiled outputs of the same inputs
    const plainMean = vae.encodeMean(image, { tiling: { mode: "never" } });
    const plainSample = vae.decode(latents, { tiling: { mode: "never" } });
    assertClose(await plainMean.toArray(), await ref.readF32("untiled.encode.mean"), FORWARD_TOL);
    assertClose(
      await plainSample.toArray(),
      await ref.readF32("untiled.decode.sample"),
      FORWARD_TOL,
    );
    for (const t of [image, latents, mean, decoded, plainMean, plainSample]) t.dispose();
    ref.close();
  },
});

Deno.test({
  name: "AutoencoderKL tiled vs untiled differ by at most the measured seam difference",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const vae = await tinyVae(gpu);
    const ref = await reference("vae_reference.safetensors");
    const image = await upload(gpu, ref, "tiled.input.image");
    const latents = await upload(gpu, ref, "tiled.input.latents");
    const tiling = { ...TILES, mode: "always" } as const;
    const outs = [
      vae.encodeMean(image, { tiling }),
      vae.encodeMean(image),
      vae.decode(latents, { tiling }),
      vae.decode(latents),
    ];
    const [tm, um, td, ud] = await Promise.all(outs.map((t) => t.toArray()));
    const mean = absDiff(tm, um), decode = absDiff(td, ud);
    console.log(`tiled vs untiled: mean ${JSON.stringify(mean)}, decode ${JSON.stringify(decode)}`);
    assertLess(mean.maxAbs, SEAM_MEAN.maxAbs);
    assertLess(mean.meanAbs, SEAM_MEAN.meanAbs);
    assertLess(decode.maxAbs, SEAM_DECODE.maxAbs);
    assertLess(decode.meanAbs, SEAM_DECODE.meanAbs);
    // the same seams as diffusers' tiled vs untiled, so the difference is tiling, not an error
    for (
      const [ours, key] of [[absDiff(tm, um), "encode.mean"], [decode, "decode.sample"]] as const
    ) {
      const theirs = absDiff(
        await ref.readF32(`tiled.${key}`),
        await ref.readF32(`untiled.${key}`),
      );
      assertLess(Math.abs(ours.maxAbs - theirs.maxAbs), 1e-3);
    }
    for (const t of [image, latents, ...outs]) t.dispose();
    ref.close();
  },
});

Deno.test({
  name: "AutoencoderKL tiles automatically only when a side exceeds the threshold",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const vae = await tinyVae(gpu);
    assertEquals(vae.tiling, {
      mode: "auto",
      tileSampleMinSize: 512,
      tileOverlapFactor: 0.25,
      threshold: 1024,
    });
    const ref = await reference("vae_reference.safetensors");
    const image = await upload(gpu, ref, "tiled.input.image"); // 56x40
    const latents = await upload(gpu, ref, "tiled.input.latents");
    const small = await upload(gpu, ref, "input.image"); // [2, 3, 32, 24]
    const run = async (f: () => Tensor) => {
      const t = f(), a = await t.toArray();
      t.dispose();
      return a;
    };
    const never = { tiling: { mode: "never" } } as const;
    const always = { tiling: { ...TILES, mode: "always" } } as const;
    const untiledMean = await run(() => vae.encodeMean(image, never));
    const tiledMean = await run(() => vae.encodeMean(image, always));
    const untiledSample = await run(() => vae.decode(latents, never));
    const tiledSample = await run(() => vae.decode(latents, always));
    // defaults (1024-pixel threshold): the fixture sizes run untiled, bit for bit
    assertEquals(await run(() => vae.encodeMean(image)), untiledMean);
    assertEquals(await run(() => vae.decode(latents)), untiledSample);
    try {
      vae.setTiling({ ...TILES, threshold: 32 }); // auto: 56x40 exceeds 32
      assertEquals(vae.tiling.threshold, 32);
      assertEquals(await run(() => vae.encodeMean(image)), tiledMean);
      assertEquals(await run(() => vae.decode(latents)), tiledSample);
      // 32x24 does not exceed 32: untiled
      assertEquals(
        await run(() => vae.encodeMean(small)),
        await run(() => vae.encodeMean(small, never)),
      );
      // a per-call threshold overrides the stored one
      assertEquals(
        await run(() => vae.decode(latents, { tiling: { threshold: 56 } })),
        untiledSample,
      );
    } finally {
      vae.setTiling({});
    }
    for (const t of [image, latents, small]) t.dispose();
    ref.close();
  },
});

Deno.test({
  name: "AutoencoderKL tiling settings out of range throw RangeError",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const vae = await tinyVae(gpu);
    const bad: [Record<string, unknown>, string][] = [
      [{ tileOverlapFactor: 0.6 }, "tileOverlapFactor 0.6 is outside [0, 0.5]"],
      [{ tileOverlapFactor: -0.1 }, "tileOverlapFactor -0.1 is outside [0, 0.5]"],
      [{ tileOverlapFactor: NaN }, "tileOverlapFactor NaN is outside [0, 0.5]"],
      [
        { tileSampleMinSize: 30 },
        "tileSampleMinSize 30 is not a positive multiple of the VAE scale 4",
      ],
      [{ tileSampleMinSize: 0 }, "tileSampleMinSize 0 is not a positive multiple"],
      [{ tileSampleMinSize: 32, tileOverlapFactor: 0.3 }, "do not line up at scale 4"],
      [{ mode: "sometimes" }, 'mode "sometimes" is not'],
      [{ threshold: -1 }, "threshold -1 is not a size in pixels"],
    ];
    for (const [options, message] of bad) {
      assertThrows(() => vae.setTiling(options), RangeError, message);
      assertThrows(() => resolveVaeTiling(options, 4), RangeError, message);
    }
    const z = Tensor.from(gpu, new Float32Array(4 * 4 * 4), [1, 4, 4, 4]);
    assertThrows(
      () => vae.decode(z, { tiling: { tileOverlapFactor: 0.75 } }),
      RangeError,
      "outside [0, 0.5]",
    );
    assertEquals(vae.tiling.tileOverlapFactor, 0.25); // a failed setTiling() changes nothing
    const odd = Tensor.from(gpu, new Float32Array(3 * 34 * 20), [1, 3, 34, 20]);
    assertThrows(
      () => vae.encodeMean(odd, { tiling: { ...TILES, mode: "always" } }),
      RangeError,
      "Cannot encode image 34x20 in tiles: its sides must be multiples of the VAE scale 4",
    );
    // overlap 0 and 0.5 are valid; so is a tile of one latent without overlap
    for (const f of [0, 0.5]) resolveVaeTiling({ tileSampleMinSize: 32, tileOverlapFactor: f }, 4);
    resolveVaeTiling({ tileSampleMinSize: 4, tileOverlapFactor: 0 }, 4);
    z.dispose(), odd.dispose();
  },
});

Deno.test({
  name: "AutoencoderKL tiled decode and encode peak at one tile's memory plus the blend strips",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const vae = await tinyVae(gpu);
    // peak live bytes beyond the input and the output of one call on a [1, c, side, side] input
    const overhead = async (c: number, side: number, run: (x: Tensor) => Tensor) => {
      const x = Tensor.from(
        gpu,
        new Float32Array(c * side * side).map((_, i) => Math.sin(i)),
        [1, c, side, side],
      );
      await gpu.sync();
      const live = gpu.memory().liveBytes;
      gpu.resetPeak();
      const y = run(x);
      await gpu.sync();
      const bytes = gpu.memory().peakBytes - live - y.byteLength;
      y.dispose(), x.dispose();
      return bytes;
    };
    const tiled = { tiling: { ...TILES, mode: "always" } } as const;
    const never = { tiling: { mode: "never" } } as const;
    const decode = (o: typeof tiled | typeof never) => (z: Tensor) => vae.decode(z, o);
    const moments = (o: typeof tiled | typeof never) => (x: Tensor) => vae.moments(x, o);
    const dTile = await overhead(4, 8, decode(never)); // one 32x32 tile
    const d96 = await overhead(4, 24, decode(tiled)); // 96x96 pixels, 4x4 tiles
    const d96Untiled = await overhead(4, 24, decode(never));
    const eTile = await overhead(3, 32, moments(never));
    const e96 = await overhead(3, 96, moments(tiled));
    const e96Untiled = await overhead(3, 96, moments(never));
    console.log(
      `peak bytes beyond input and output: decode one tile ${dTile}, tiled 96² ${d96}, untiled ` +
        `96² ${d96Untiled}; moments one tile ${eTile}, tiled 96² ${e96}, untiled 96² ${e96Untiled}`,
    );
    // Tiled = one tile's peak + that tile's input crop and output + the strips handed between
    // tiles, which grow only with the width: bounded by two rows of 3 channels × 8 blended rows ×
    // 96 pixels (decode) or 8 moments × 2 rows × 24 latents (encode), f32. Measured: 14,592 and
    // 2,432 bytes.
    assertLess(d96 - dTile - (4 * 8 * 8 + 3 * 32 * 32) * 4, 2 * 3 * 8 * 96 * 4);
    assertLess(e96 - eTile - (3 * 32 * 32 + 8 * 8 * 8) * 4, 2 * 8 * 2 * 24 * 4);
    // measured on lavapipe: 0.92 MB (decode) and 0.57 MB (moments) whatever the size; untiled 96²
    // needs 8.0 MB and 5.0 MB
    assertLess(d96, 1.25e6);
    assertLess(e96, 1.25e6);
    assertLess(d96 * 5, d96Untiled);
    assertLess(e96 * 5, e96Untiled);
  },
});
