// Transformer calls as the samplers see them: ε for a batch of latents with one caption per row,
// classifier-free guidance, and the first latent channels of the learned-σ output.

import type { Tensor } from "../tensor/tensor.ts";
import { add, sub } from "../kernels/binary.ts";
import { scale } from "../kernels/unary.ts";
import { concat } from "../kernels/concat.ts";
import type { EncodedPrompt, PixArtPipeline } from "./pixart_pipeline.ts";
import type { BlockControl } from "../model/pixart/transformer_block.ts";

/** ε of row `row` of a transformer output [B, 2C, H, W]: its first C channels, [1, C, H, W]. */
export function epsRow(out: Tensor, row: number): Tensor {
  const [b, c2, h, w] = out.shape;
  return out.reshape([2 * b, (c2 / 2) * h * w]).slice(2 * row, 2 * row + 1).reshape([
    1,
    c2 / 2,
    h,
    w,
  ]);
}

/** ε_u + w·(ε_c − ε_u). */
export function guide(uncond: Tensor, cond: Tensor, w: number): Tensor {
  return add(uncond, scale(sub(cond, uncond), w));
}

/** One transformer call over rows `latents[i]` with captions `prompts[i]` at timestep t. */
export function transformerBatch(
  pipe: PixArtPipeline,
  latents: Tensor[],
  prompts: EncodedPrompt[],
  t: number,
  control?: (block: number) => BlockControl | undefined,
): Tensor {
  const [, , h, w] = latents[0].shape;
  const s = pipe.vae.config.scale;
  const micro = pipe.transformer.config.useAdditionalConditions
    ? { height: h * s, width: w * s }
    : undefined;
  return pipe.transformer.forward({
    latents: latents.length === 1 ? latents[0] : concat(latents, 0),
    timesteps: latents.map(() => t),
    caption: prompts.length === 1 ? prompts[0].embeds : concat(prompts.map((p) => p.embeds), 0),
    captionMask: prompts.length === 1 ? prompts[0].mask : concat(prompts.map((p) => p.mask), 0),
    micro,
    control,
  });
}
