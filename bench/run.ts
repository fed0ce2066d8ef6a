// The bench runner behind `deno task bench`: runs every case (or those matching --filter) and
// prints a table, or with --json only JSON rows on stdout (one per case; logs go to stderr).
// Model-level cases run only when the filter names them (`--filter model`).

import { parseArgs } from "node:util";
import { type Gpu, requestGpu } from "../tensor/device.ts";
import type { BenchRow } from "./_timing.ts";
import { matmulBench } from "./cases/matmul_bench.ts";
import { submitChain } from "./cases/submit_chain_bench.ts";
import { layerNormBench } from "./cases/layer_norm_bench.ts";
import { rmsNormBench } from "./cases/rms_norm_bench.ts";
import { groupNormBench } from "./cases/group_norm_bench.ts";
import { conv2dBench } from "./cases/conv2d_bench.ts";
import { tomeMergeBench } from "./cases/tome_merge_bench.ts";
import { pixartModelBench, tinyPixartBench } from "./cases/pixart_model_bench.ts";
import { flashAttentionBench } from "./cases/flash_attention_bench.ts";
import { t5XxlBench } from "./cases/t5_xxl_bench.ts";
import { vaeTiledBench } from "./cases/vae_tiled_bench.ts";
import { pixartMergeBench } from "./cases/pixart_merge_bench.ts";

/** A bench case: one kernel (or model stage) and the rows it measures. */
export interface BenchCase {
  /** The kernel's file stem in snake_case, matched by --filter. */
  kernel: string;
  /** "model" cases run only under `--filter model`. */
  group?: "kernel" | "model";
  /** Measures and returns rows (our figures and same-run baselines). */
  run(gpu: Gpu, log: (msg: string) => void): Promise<BenchRow[]>;
}

/** Every case, in run order. Kernel issues append theirs here. */
export const CASES: BenchCase[] = [
  submitChain,
  matmulBench,
  layerNormBench,
  rmsNormBench,
  groupNormBench,
  conv2dBench,
  tomeMergeBench,
  flashAttentionBench,
  vaeTiledBench,
  tinyPixartBench,
  pixartModelBench,
  t5XxlBench,
  pixartMergeBench,
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { json: { type: "boolean" }, filter: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench [--filter WORD] [--json]\n" +
        '  --filter WORD  run cases whose kernel name contains WORD ("model" runs model cases)\n' +
        "  --json         print only JSON rows on stdout, one object per case",
    );
    return;
  }
  const log = (msg: string) => console.error(msg);
  const filter = values.filter;
  const gpu = await requestGpu();
  log(`adapter: ${gpu.description} (${gpu.kind}, f16 ${gpu.f16}, timestamps ${gpu.timestamps})`);
  const cases = CASES.filter((c) =>
    filter
      ? c.kernel.includes(filter) || (filter === "model" && c.group === "model")
      : c.group !== "model"
  );
  if (cases.length === 0) log(`no bench case matches "${filter}"`);
  for (const c of cases) {
    log(`bench ${c.kernel} ...`);
    const rows = await c.run(gpu, log);
    for (const row of rows) {
      if (values.json) console.log(JSON.stringify(row));
      else {
        const perf = row.gflops !== undefined
          ? ` ${row.gflops} GFLOP/s`
          : row.gbps !== undefined
          ? ` ${row.gbps} GB/s`
          : "";
        console.log(
          `${row.kernel.padEnd(22)} ${row.case.padEnd(24)} ${row.dtype.padEnd(4)} ${
            String(row.ms).padStart(10)
          } ms (${row.timing})${perf}${row.baseline ? " [baseline]" : ""}`,
        );
      }
    }
  }
  gpu.destroy();
}

if (import.meta.main) await main();
