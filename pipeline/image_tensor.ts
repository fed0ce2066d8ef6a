// Conversions between RGBA8 images and the VAE's RGB tensors in [−1, 1] (alpha is ignored).

import type { RgbaImage } from "../image/rgba_image.ts";
import type { Gpu } from "../tensor/device.ts";
import { Tensor } from "../tensor/tensor.ts";

/** RGBA8 → [1, 3, H, W] f32 in [−1, 1]. */
export function imageToTensor(gpu: Gpu, image: RgbaImage): Tensor {
  const { width, height, data } = image, n = width * height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[c * n + i] = data[4 * i + c] / 127.5 - 1;
  }
  return Tensor.from(gpu, out, [1, 3, height, width]);
}

/** [1, 3, H, W] in about [−1, 1] → RGBA8 (clamped, opaque). */
export async function tensorToImage(t: Tensor): Promise<RgbaImage> {
  const [, , height, width] = t.shape, n = width * height;
  const v = await t.toArray();
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      data[4 * i + c] = Math.round(Math.min(1, Math.max(0, (v[c * n + i] + 1) / 2)) * 255);
    }
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}
