// Heat-map overlays (the CLI's `--attention-maps`): a float map in [0, 1] is coloured with the
// Turbo colour map (Google's polynomial fit), upsampled to the image with `resizeImage` and blended
// over it at a fixed opacity.

import { resizeImage } from "./resize.ts";
import type { RgbaImage } from "./rgba_image.ts";

/** A single-channel map, row-major `[height, width]`, values in [0, 1] (others are clamped). */
export interface Heatmap {
  /** Width in cells. */
  width: number;
  /** Height in cells. */
  height: number;
  /** `width * height` values. */
  data: Float32Array;
}

/** Options for {@linkcode overlayHeatmap}. */
export interface OverlayHeatmapOptions {
  /** Weight of the colour map in the blend, 0..1; default 0.5. */
  opacity?: number;
}

/**
 * The Turbo colour map at `x` (clamped to [0, 1]) as 8-bit RGB: dark blue for 0, through green and
 * yellow, to dark red for 1. Polynomial fit by Google (Mikhailov, 2019).
 *
 * @param x the value
 * @returns `[r, g, b]` in 0..255
 * @example
 * ```ts
 * import { turbo } from "./heatmap.ts";
 * turbo(1); // a dark red
 * ```
 */
export function turbo(x: number): [number, number, number] {
  const t = Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x));
  const r = 0.13572138 +
    t *
      (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))));
  const g = 0.09140261 +
    t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))));
  const b = 0.1066733 +
    t *
      (12.64194608 +
        t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))));
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  return [byte(r), byte(g), byte(b)];
}

/**
 * Reads a grey RGBA image (as `edit()` returns for attention maps) as a heat map: red / 255.
 *
 * @param image a grey image
 * @returns its heat map, same size
 * @example
 * ```ts
 * import { heatmapFromGrey } from "./heatmap.ts";
 * heatmapFromGrey({ width: 1, height: 1, data: new Uint8Array([255, 255, 255, 255]) }).data[0]; // 1
 * ```
 */
export function heatmapFromGrey(image: RgbaImage): Heatmap {
  const n = image.width * image.height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = image.data[i * 4] / 255;
  return { width: image.width, height: image.height, data };
}

/**
 * Blends a coloured heat map over an image: each heat cell is coloured with {@linkcode turbo}, the
 * coloured map is resized to the image's size with `resizeImage` (Lanczos3), and every pixel becomes
 * `(1 - opacity) * image + opacity * colour`, keeping the image's alpha.
 *
 * @param image the picture the map belongs to
 * @param heat the map, any size (usually coarser than the image)
 * @param options `opacity`
 * @returns a new image at the image's size
 * @throws {RangeError} for a heat map whose data length does not match its size, or a bad opacity
 * @example
 * ```ts
 * import { overlayHeatmap } from "./heatmap.ts";
 * const image = { width: 4, height: 4, data: new Uint8Array(64).fill(128) };
 * const heat = { width: 2, height: 2, data: new Float32Array([0, 0.3, 0.6, 1]) };
 * const shown = overlayHeatmap(image, heat); // 4x4
 * ```
 */
export function overlayHeatmap(
  image: RgbaImage,
  heat: Heatmap,
  options: OverlayHeatmapOptions = {},
): RgbaImage {
  const { width: hw, height: hh, data: hd } = heat;
  if (!Number.isInteger(hw) || !Number.isInteger(hh) || hw < 1 || hh < 1) {
    throw new RangeError(`Cannot overlay heat map: size ${hw}x${hh} is not positive integers`);
  }
  if (hd.length !== hw * hh) {
    throw new RangeError(
      `Cannot overlay heat map: data has ${hd.length} values, expected ${hw * hh} for ${hw}x${hh}`,
    );
  }
  const opacity = options.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) {
    throw new RangeError(`Cannot overlay heat map: opacity must be in [0, 1], got "${opacity}"`);
  }
  const coloured = new Uint8Array(hw * hh * 4);
  for (let i = 0; i < hw * hh; i++) coloured.set([...turbo(hd[i]), 255], i * 4);
  const up = resizeImage({ width: hw, height: hh, data: coloured }, image.width, image.height);
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      out[i + c] = Math.round((1 - opacity) * image.data[i + c] + opacity * up.data[i + c]);
    }
    out[i + 3] = image.data[i + 3];
  }
  return { width: image.width, height: image.height, data: out };
}
