// Side-by-side grids of RGBA images (the CLI's `--grid`: input | reconstruction | edit). Images are
// scaled to one height (antialiased, keeping their aspect ratio) and separated by small gaps.

import { resizeImage } from "./resize.ts";
import type { RgbaImage } from "./rgba_image.ts";

/** Options for {@linkcode sideBySide}. */
export interface SideBySideOptions {
  /** Pixels between neighbouring images, a non-negative integer; default 4. */
  gap?: number;
  /** RGBA colour of the gaps; default opaque white. */
  background?: [number, number, number, number];
  /** Height of the grid in pixels; default the first image's height. */
  height?: number;
}

/**
 * Places images left to right at one height, with `gap` pixels of `background` between them.
 * Images of another height are resized to it with their aspect ratio kept (width rounded).
 *
 * @param images one or more images
 * @param options `gap`, `background`, `height`
 * @returns a new image, `sum(widths) + gap * (n - 1)` wide
 * @throws {RangeError} for no images, a negative or fractional gap, or a bad height or colour
 * @example
 * ```ts
 * import { sideBySide } from "./grid.ts";
 * const a = { width: 2, height: 2, data: new Uint8Array(16) };
 * const grid = sideBySide([a, a, a], { gap: 1 }); // 8x2
 * ```
 */
export function sideBySide(images: RgbaImage[], options: SideBySideOptions = {}): RgbaImage {
  if (!Array.isArray(images) || images.length === 0) {
    throw new RangeError("Cannot make grid: expected at least one image, got none");
  }
  const gap = options.gap ?? 4;
  if (!Number.isInteger(gap) || gap < 0) {
    throw new RangeError(`Cannot make grid: gap must be a non-negative integer, got "${gap}"`);
  }
  const height = options.height ?? images[0].height;
  if (!Number.isInteger(height) || height < 1) {
    throw new RangeError(`Cannot make grid: height must be a positive integer, got "${height}"`);
  }
  const background = options.background ?? [255, 255, 255, 255];
  if (background.length !== 4 || background.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new RangeError(
      `Cannot make grid: background must be 4 integers in 0..255, got "${background.join(",")}"`,
    );
  }
  const scaled = images.map((im) => {
    if (im.height === height) return im;
    const width = Math.max(1, Math.round((im.width * height) / im.height));
    return resizeImage(im, width, height);
  });
  const width = scaled.reduce((s, im) => s + im.width, 0) + gap * (scaled.length - 1);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(background, i);
  let x0 = 0;
  for (const im of scaled) {
    if (im.data.length !== im.width * im.height * 4) {
      throw new RangeError(
        `Cannot make grid: an image has ${im.data.length} bytes, expected ${
          im.width * im.height * 4
        } for ${im.width}x${im.height} RGBA`,
      );
    }
    const rowBytes = im.width * 4;
    for (let y = 0; y < height; y++) {
      data.set(im.data.subarray(y * rowBytes, (y + 1) * rowBytes), (y * width + x0) * 4);
    }
    x0 += im.width + gap;
  }
  return { width, height, data };
}
