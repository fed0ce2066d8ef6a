// Picks the sampler a diffusers `scheduler_config.json` names (`_class_name`).

import { DDIMScheduler } from "./ddim.ts";
import { DPMSolverMultistepScheduler } from "./dpm_solver.ts";
import { quote } from "./scheduler_config.ts";
import type { Sampler } from "./scheduler_ops.ts";

/** Scheduler classes we implement, by diffusers class name. */
export const SCHEDULER_CLASSES: readonly string[] = [
  "DPMSolverMultistepScheduler",
  "DDIMScheduler",
];

/**
 * Builds the scheduler a config names; a config without `_class_name` is taken as
 * DPMSolverMultistepScheduler (PixArt's).
 * @param json the parsed `scheduler_config.json`
 * @param numInferenceSteps N
 * @returns the scheduler
 * @example schedulerFromConfig((await folder.component("scheduler")).config, 20)
 */
export function schedulerFromConfig(
  json: Record<string, unknown>,
  numInferenceSteps: number,
): Sampler {
  const name = json._class_name ?? "DPMSolverMultistepScheduler";
  if (name === "DPMSolverMultistepScheduler") {
    return DPMSolverMultistepScheduler.fromConfig(json, numInferenceSteps);
  }
  if (name === "DDIMScheduler") return DDIMScheduler.fromConfig(json, numInferenceSteps);
  throw new TypeError(
    `Cannot load scheduler: "_class_name" ${quote(name)} is not supported (need one of ${
      SCHEDULER_CLASSES.map(quote).join(", ")
    })`,
  );
}
