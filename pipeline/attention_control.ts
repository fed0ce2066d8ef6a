// DiT4Edit's unified attention control (SPEC §8.3) and Prompt-to-Prompt (§8.4) as per-block hooks
// of the PixArt transformer, for the batch [source cond, target uncond, target cond] and, when the
// guidance correction is on, [source uncond] after them, which keeps its own attention.
// Self-attention in blocks [first, last]: target rows attend to the source row's K/V (with Union,
// followed by their own), and during the first `threshold` steps also use its queries.
// Cross-attention: the target cond row's probabilities come from the source row through a word
// mapper for the first ⌈crossReplace·N⌉ steps.

import { Tensor } from "../tensor/tensor.ts";
import { add, mul } from "../kernels/binary.ts";
import { concat } from "../kernels/concat.ts";
import { matmul } from "../kernels/matmul.ts";
import type { BlockControl } from "../model/pixart/transformer_block.ts";
import type { Gpu } from "../tensor/device.ts";
import type { CrossMapper } from "./p2p.ts";

/** The resolved control settings of one edit. */
export interface ControlSettings {
  enabled: boolean;
  steps: number;
  threshold: number;
  blocks: [number, number];
  crossReplace: number;
  /** Target rows attend to [K_src; K_tgt] instead of K_src alone (MasaCtrl's Union variant). */
  union?: boolean;
  /** Rows in the batch (default 3); rows from 3 on are neither controlled nor edited. */
  rows?: number;
  mapper?: CrossMapper;
  merge?: { h: number; w: number; ratio: number; seed: number };
}

/** Uploaded mapper tensors, made once per edit. */
export interface MapperTensors {
  matrix: Tensor; // [L, L]
  beta: Tensor; // [L]
}

/** Uploads a mapper. */
export function uploadMapper(gpu: Gpu, m: CrossMapper): MapperTensors {
  const l = m.beta.length;
  return { matrix: Tensor.from(gpu, m.matrix, [l, l]), beta: Tensor.from(gpu, m.beta, [l]) };
}

/** P' for the target cond row (row 2): P_src · M + P_tgt ⊙ β, the other rows unchanged. */
export function editCrossProbs(probs: Tensor, mapper: MapperTensors): Tensor {
  const [b, h, n, l] = probs.shape;
  const src = probs.slice(0, 1).reshape([h * n, l]);
  const tgt = probs.slice(2, 3).reshape([h * n, l]);
  const edited = add(matmul(src, mapper.matrix), mul(tgt, mapper.beta)).reshape([1, h, n, l]);
  return concat([probs.slice(0, 2), edited, ...(b > 3 ? [probs.slice(3, b)] : [])], 0);
}

/** The per-block hooks at step k (0 = noisiest), or undefined for plain attention. */
export function controlAt(
  settings: ControlSettings,
  k: number,
  mapper: MapperTensors | undefined,
  onCrossProbs?: (block: number, probs: Tensor) => void,
): (block: number) => BlockControl | undefined {
  const crossSteps = Math.ceil(settings.crossReplace * settings.steps);
  // the three edit rows take row 0's; further rows keep their own
  const fromSource = Array.from({ length: settings.rows ?? 3 }, (_, r) => r < 3 ? 0 : r);
  return (block) => {
    const c: BlockControl = {};
    if (settings.merge) {
      c.merge = { ...settings.merge, seed: settings.merge.seed + 7919 * k + block };
    }
    const inBlocks = block >= settings.blocks[0] && block <= settings.blocks[1];
    if (settings.enabled && inBlocks) {
      c.self = {
        kvBatch: fromSource,
        qBatch: k < settings.threshold ? fromSource : undefined,
        union: settings.union,
      };
    }
    const replace = settings.enabled && mapper && k < crossSteps;
    if (replace || onCrossProbs) {
      c.crossProbs = (probs) => {
        const p = replace ? editCrossProbs(probs, mapper) : probs;
        onCrossProbs?.(block, p);
        return p;
      };
    }
    return c;
  };
}
