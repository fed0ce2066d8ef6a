// Per-adapter kernel variants. A kernel declares its variants in order of preference, each with
// the adapter kinds it suits; `pickVariant` returns the pinned one (tests pin each in turn), else
// an autotuned choice when one was loaded, else the first that suits the adapter.

import type { AdapterKind, Gpu } from "../tensor/device.ts";
import { tunedChoice } from "../tensor/autotune.ts";

/** One way to run a kernel. */
export interface KernelVariant {
  /** Stable name, used by pins, the autotune cache and bench rows. */
  name: string;
  /** Adapter kinds this variant is the default for. */
  suits: readonly AdapterKind[];
}

/** The variant to run for `kernel` on this device. `shapeKey` groups autotune choices. */
export function pickVariant<V extends KernelVariant>(
  gpu: Gpu,
  kernel: string,
  variants: readonly V[],
  shapeKey = "",
): V {
  const pinned = gpu.pinnedVariants.get(kernel);
  if (pinned !== undefined) {
    const v = variants.find((x) => x.name === pinned);
    if (!v) {
      throw new RangeError(
        `Cannot pin variant "${pinned}" of "${kernel}": variants are ${
          variants.map((x) => `"${x.name}"`).join(", ")
        }`,
      );
    }
    return v;
  }
  const tuned = tunedChoice(gpu, kernel, shapeKey);
  const hit = tuned && variants.find((x) => x.name === tuned);
  if (hit) return hit;
  return variants.find((x) => x.suits.includes(gpu.kind)) ?? variants[0];
}

/** Runs `fn` with `kernel` pinned to `variant`, restoring the previous pin afterwards. */
export async function withVariant<T>(
  gpu: Gpu,
  kernel: string,
  variant: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  const before = gpu.pinnedVariants.get(kernel);
  gpu.pinnedVariants.set(kernel, variant);
  try {
    return await fn();
  } finally {
    if (before === undefined) gpu.pinnedVariants.delete(kernel);
    else gpu.pinnedVariants.set(kernel, before);
  }
}
