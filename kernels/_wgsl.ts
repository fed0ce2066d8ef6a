// Shared WGSL helpers: storage-type aliases and the 1-D launch grid every elementwise kernel uses.

import type { DType } from "../tensor/dtype.ts";
import { wgslType } from "../tensor/dtype.ts";
import type { Gpu } from "../tensor/device.ts";

/**
 * Prepends `alias NAME = type;` lines (and `enable f16;` when needed) so one kernel body serves
 * f32 and f16 storage. Only element types are spliced; logic varies through `override`s.
 */
export function withTypes(gpu: Gpu, body: string, types: Record<string, DType>): string {
  const lines = Object.entries(types).map(([k, d]) => `alias ${k} = ${wgslType(d, gpu.f16)};`);
  const f16 = lines.some((l) => l.endsWith("= f16;"));
  return `${f16 ? "enable f16;\n" : ""}${lines.join("\n")}\n${body}`;
}

/** Threads per workgroup for 1-D kernels. */
export const WG_1D = 256;

/** Workgroup grid covering `n` threads of `wg` each, folded into y past 65535 groups. */
export function grid1d(n: number, wg = WG_1D): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= 65535) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** WGSL expression for the linear thread index under `grid1d` (needs gid and nwg builtins). */
export const LINEAR_ID = "gid.x + gid.y * nwg.x * WG";

/** The shared entry-point signature of 1-D kernels. */
export const MAIN_1D =
  "@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) gid: vec3<u32>, " +
  "@builtin(num_workgroups) nwg: vec3<u32>)";
