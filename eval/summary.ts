// Aggregates the edit benchmark's JSON lines into one Markdown table: a row per configuration, and
// the default configuration again on the ablations' scenes so each ablation has its baseline.

import type { EditScore } from "./edit_metrics.ts";

/** One line of the results file. */
export interface EditRow extends EditScore {
  config: string;
  id: string;
  kind: "colour" | "shape" | "both";
  seconds: number;
  used: Record<string, unknown>;
}

/** The figures of one configuration. */
export interface ConfigSummary {
  config: string;
  scenes: number;
  success: number;
  successByKind: Record<"colour" | "shape" | "both", number>;
  /** Share of colour edits whose shape survived. */
  shapeKept: number;
  /** Mean background PSNR in dB (an identical background counts as 60 dB). */
  backgroundPsnr: number;
  reconstructionPsnr: number;
  /** Median seconds per edit. */
  seconds: number;
}

const cap = (db: number) => Math.min(db, 60);
const mean = (v: number[]) => v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
const share = (v: boolean[]) => v.length ? v.filter(Boolean).length / v.length : NaN;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[(s.length - 1) >> 1] : NaN;
}

function summarizeRows(config: string, rows: EditRow[]): ConfigSummary {
  const kind = (k: EditRow["kind"]) =>
    share(rows.filter((r) => r.kind === k).map((r) => r.success));
  return {
    config,
    scenes: rows.length,
    success: share(rows.map((r) => r.success)),
    successByKind: { colour: kind("colour"), shape: kind("shape"), both: kind("both") },
    shapeKept: share(rows.filter((r) => r.kind === "colour").map((r) => r.shapeKept === true)),
    backgroundPsnr: mean(rows.map((r) => cap(r.backgroundPsnr))),
    reconstructionPsnr: mean(rows.map((r) => cap(r.reconstructionPsnr))),
    seconds: median(rows.map((r) => r.seconds)),
  };
}

/** Per configuration (file order), plus "default (first N)" when ablations ran on N scenes. */
export function summarize(rows: EditRow[], ablationCount: number): ConfigSummary[] {
  const configs = [...new Set(rows.map((r) => r.config))];
  const out = configs.map((c) => summarizeRows(c, rows.filter((r) => r.config === c)));
  const defaults = rows.filter((r) => r.config === "default");
  if (configs.length > 1 && defaults.length > ablationCount) {
    const ids = new Set(rows.filter((r) => r.config !== "default").map((r) => r.id));
    const same = defaults.filter((r) => ids.has(r.id));
    out.splice(1, 0, summarizeRows(`default (same ${same.length} scenes)`, same));
  }
  return out;
}

const pct = (x: number) => Number.isNaN(x) ? "–" : `${(100 * x).toFixed(1)}%`;

/** A Markdown table of summaries. */
export function summaryTable(summaries: ConfigSummary[]): string {
  const head =
    "| configuration | scenes | edit success | colour edits | shape edits | both | shape kept (colour edits) | background PSNR (dB) | reconstruction PSNR (dB) | s/edit (median) |";
  const lines = [head, "|" + " --- |".repeat(10)];
  for (const s of summaries) {
    lines.push(
      `| ${s.config} | ${s.scenes} | ${pct(s.success)} | ${pct(s.successByKind.colour)} | ${
        pct(s.successByKind.shape)
      } | ${pct(s.successByKind.both)} | ${pct(s.shapeKept)} | ${s.backgroundPsnr.toFixed(2)} | ${
        s.reconstructionPsnr.toFixed(2)
      } | ${s.seconds.toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}
