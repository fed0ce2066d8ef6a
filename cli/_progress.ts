// Progress lines on stderr for the long stages (loading, encoding, inversion, editing): counts,
// rate (it/s or MB/s) and ETA. On a terminal one line per stage is redrawn in place; otherwise
// plain lines are printed, at most one a second per stage plus the stage's last.

import type { ProgressEvent } from "../pipeline/edit_options.ts";

/** Options of {@linkcode ProgressView}. */
export interface ProgressViewOptions {
  /** Writes text to stderr (no newline added). */
  write: (text: string) => void;
  /** Redraw in place (stderr is a terminal). */
  tty: boolean;
  /** Milliseconds clock; default performance.now. */
  now?: () => number;
}

const LABELS: Record<string, string> = {
  "load": "loading model",
  "encode-prompt": "encoding prompts",
  "vae-encode": "encoding image",
  "invert": "inverting",
  "edit": "editing",
  "vae-decode": "decoding image",
};

/** `1.5 MB`, `312 kB`, `17 B` (SI units, as download tools print). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000, i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `0.4s`, `12s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

function formatRate(perSecond: number, unit: ProgressEvent["unit"]): string {
  if (unit === "bytes") return `${formatBytes(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(2)} it/s`;
  return `${(1 / perSecond).toFixed(1)} s/it`;
}

/** Renders ProgressEvents; `prefix` (e.g. "[2/5] ") starts every line. */
export class ProgressView {
  /** Printed before each line, e.g. the edit's place in a batch. */
  prefix = "";
  #write: (text: string) => void;
  #tty: boolean;
  #now: () => number;
  #stage = "";
  #start = 0;
  #startDone = 0;
  #lastDone = -1;
  #lastDraw = -Infinity;
  #open = false;
  #finished = false;

  /** @param options where to write, whether to redraw in place, and the clock */
  constructor(options: ProgressViewOptions) {
    this.#write = options.write;
    this.#tty = options.tty;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Shows one event (throttled; a stage's first and last events are always shown). */
  update(event: ProgressEvent): void {
    const now = this.#now();
    const fresh = event.stage !== this.#stage || event.done < this.#lastDone;
    if (fresh) {
      this.#closeLine();
      this.#stage = event.stage;
      this.#start = now;
      this.#startDone = event.done;
      this.#finished = false;
      this.#lastDraw = -Infinity;
    }
    this.#lastDone = event.done;
    if (this.#finished) return;
    const last = event.total > 0 && event.done >= event.total;
    if (!fresh && !last && now - this.#lastDraw < (this.#tty ? 100 : 1000)) return;
    this.#lastDraw = now;
    const line = this.prefix + this.#describe(event, now);
    if (this.#tty) {
      this.#write(`\r\x1b[2K${line}`);
      this.#open = true;
      if (last) this.#closeLine();
    } else {
      this.#write(`${line}\n`);
    }
    if (last) this.#finished = true;
  }

  /** Prints a whole line (a note, a warning), ending any line being redrawn. */
  line(text: string): void {
    this.#closeLine();
    this.#write(`${text}\n`);
  }

  /** Ends the line being redrawn, if any. */
  end(): void {
    this.#closeLine();
  }

  #closeLine(): void {
    if (this.#open) this.#write("\n");
    this.#open = false;
  }

  #describe(e: ProgressEvent, now: number): string {
    const label = LABELS[e.stage] ?? e.stage;
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 && e.done > this.#startDone
      ? (e.done - this.#startDone) / seconds
      : undefined;
    const counts = e.unit === "bytes"
      ? `${formatBytes(e.done)}/${formatBytes(e.total)}`
      : `${e.done}/${e.total} steps`;
    const fraction = e.total > 0 ? Math.min(1, Math.max(0, e.done / e.total)) : 0;
    const parts = [counts];
    if (rate !== undefined) parts.push(formatRate(rate, e.unit));
    if (e.done >= e.total) {
      if (rate !== undefined) parts.push(`done in ${formatDuration(seconds)}`);
    } else if (rate !== undefined) {
      parts.push(`ETA ${formatDuration((e.total - e.done) / rate)}`);
    }
    const percent = `${Math.floor(fraction * 100)}%`;
    if (!this.#tty) return `${label}: ${percent} ${parts.join(", ")}`;
    const width = 20, filled = Math.round(fraction * width);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    return `${label.padEnd(16)} ${bar} ${percent.padStart(4)} ${parts.join("  ")}`;
  }
}
