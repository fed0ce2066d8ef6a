// Scheduler tables and configs against diffusers 0.42.1 (torch 2.15.0, CPU f32), fixture from
// `tools/.venv/bin/python tools/make_scheduler_fixtures.py`. Timesteps, β and ᾱ match exactly;
// σ̃, α, s, λ within |ours − ref| <= 1e-6 + 1e-6·|ref| (SPEC §11): torch's CPU sqrt/log go
// through MKL VML, which is not correctly rounded, so some entries differ by one f32 ulp.

import { assertEquals, assertThrows } from "@std/assert";
import { DDIMScheduler, parseDdimConfig } from "../../pipeline/ddim.ts";
import { DPMSolverMultistepScheduler, parseDpmSolverConfig } from "../../pipeline/dpm_solver.ts";
import { schedulerFromConfig } from "../../pipeline/scheduler.ts";
import { openModelFolder } from "../../io/model_folder.ts";
import { assertClose } from "../_harness.ts";
import { fakeCoefficients, fixture, fixtureJson, maxRel } from "./_scheduler_fixture.ts";
import { numpyLinspace, roundHalfEven } from "../../pipeline/scheduler_tables.ts";

const TABLE_TOL = { atol: 1e-6, rtol: 1e-6 };
const DPM_JSON = fixtureJson("dpm_config");
const DDIM_JSON = fixtureJson("ddim_config");
const VARIANTS = fixtureJson("variants") as Record<string, Record<string, unknown>>;

/** Compares λ, keeping +∞ exact (assertClose's difference would be NaN). */
function assertTable(actual: Float32Array, key: string): [number, number] {
  const ref = fixture().f32(key);
  assertEquals(actual.length, ref.length, key);
  const finite = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? v : 0));
  assertEquals(Array.from(actual, Number.isFinite), Array.from(ref, Number.isFinite), key);
  assertEquals(
    Array.from(actual).filter((v) => !Number.isFinite(v)),
    Array.from(ref).filter((v) => !Number.isFinite(v)),
    key,
  );
  assertClose(finite(actual), finite(ref), TABLE_TOL, key);
  const a = finite(actual), r = finite(ref);
  return [Math.max(...a.map((v, i) => Math.abs(v - r[i]))), maxRel(a, r)];
}

/** Checks timesteps, σ̃, α, s and λ; returns the max abs and rel errors. */
function assertDpmTables(s: DPMSolverMultistepScheduler, prefix: string): [number, number] {
  assertEquals([...s.timesteps], Array.from(fixture().f32(`${prefix}.timesteps`)), prefix);
  const errs = (["sigmas", "alpha_t", "sigma_t", "lambda_t"] as const).map((name) =>
    assertTable(
      { sigmas: s.sigmas, alpha_t: s.alphaT, sigma_t: s.sigmaT, lambda_t: s.lambdas }[name],
      `${prefix}.${name}`,
    )
  );
  return [Math.max(...errs.map((e) => e[0])), Math.max(...errs.map((e) => e[1]))];
}

Deno.test("betas and alphas_cumprod equal diffusers' f32 tables bit for bit", () => {
  const s = new DPMSolverMultistepScheduler(10);
  assertEquals(Array.from(s.betas), Array.from(fixture().f32("betas")));
  assertEquals(Array.from(s.alphasCumprod), Array.from(fixture().f32("alphas_cumprod")));
  const d = DDIMScheduler.fromConfig(DDIM_JSON, 10);
  assertEquals(Array.from(d.alphasCumprod), Array.from(fixture().f32("alphas_cumprod")));
});

Deno.test("fake-model coefficients equal the fixture's (the tests' ε-model is the script's)", () => {
  const { a, b } = fakeCoefficients(new DPMSolverMultistepScheduler(10).alphasCumprod);
  assertEquals(Array.from(a), Array.from(fixture().f32("fake.a")));
  assertEquals(Array.from(b), Array.from(fixture().f32("fake.b")));
});

for (const n of [10, 20, 30]) {
  Deno.test(`DPM-Solver tables for ${n} steps match diffusers within atol 1e-6, rtol 1e-6`, () => {
    const s = DPMSolverMultistepScheduler.fromConfig(DPM_JSON, n);
    const [abs, rel] = assertDpmTables(s, `dpm.n${n}`);
    console.log(
      `  N=${n}: σ̃, α, s, λ max abs err ${abs.toExponential(2)}, rel ${rel.toExponential(2)}`,
    );
    const d = DDIMScheduler.fromConfig(DDIM_JSON, n);
    assertEquals([...d.timesteps], Array.from(fixture().f32(`ddim.n${n}.timesteps`)));
  });
}

Deno.test("DPM-Solver config variants: tables match diffusers within atol 1e-6, rtol 1e-6", () => {
  for (const [name, json] of Object.entries(VARIANTS)) {
    if (name.startsWith("ddim")) {
      const d = DDIMScheduler.fromConfig(json, 10);
      assertEquals([...d.timesteps], Array.from(fixture().f32(`var.${name}.timesteps`)), name);
    } else {
      assertDpmTables(DPMSolverMultistepScheduler.fromConfig(json, 10), `var.${name}`);
    }
  }
});

Deno.test("timesteps equal diffusers' for every spacing at N = 1, 2, 3, 7, 26, …, 999", () => {
  const f = fixture();
  for (const key of f.keys().filter((k) => k.startsWith("ts."))) {
    const [, kind, spacing, nn] = key.split(".");
    const n = Number(nn.slice(1));
    const ts = kind === "dpm"
      ? DPMSolverMultistepScheduler.fromConfig({ ...DPM_JSON, timestep_spacing: spacing }, n)
        .timesteps
      : DDIMScheduler.fromConfig({ ...DDIM_JSON, timestep_spacing: spacing }, n).timesteps;
    assertEquals([...ts], Array.from(f.f32(key)), key);
  }
});

Deno.test("numpy linspace and half-to-even rounding as SPEC §6.1 describes", () => {
  assertEquals(numpyLinspace(0, 999, 31)[15], 499.49999999999994);
  assertEquals([0.5, 1.5, 2.5, 166.5, 999 / 6].map(roundHalfEven), [0, 2, 2, 166, 166]);
  assertEquals(new DPMSolverMultistepScheduler(30).timesteps[15], 499);
});

Deno.test("PixArt's scheduler_config.json (tiny-pixart fixture) gives the default sampler", async () => {
  const dir = new URL("../fixtures/models/tiny-pixart", import.meta.url);
  const { config } = await (await openModelFolder(dir.pathname)).component("scheduler");
  const s = schedulerFromConfig(config, 30);
  assertEquals(s instanceof DPMSolverMultistepScheduler, true);
  assertEquals(
    (s as DPMSolverMultistepScheduler).config,
    new DPMSolverMultistepScheduler(30).config,
  );
});

Deno.test("schedulerFromConfig picks the class by _class_name", () => {
  assertEquals(schedulerFromConfig(DPM_JSON, 5) instanceof DPMSolverMultistepScheduler, true);
  const ddim = schedulerFromConfig({ ...DDIM_JSON, _class_name: "DDIMScheduler" }, 5);
  assertEquals(ddim instanceof DDIMScheduler, true);
  assertThrows(
    () => schedulerFromConfig({ _class_name: "EulerDiscreteScheduler" }, 5),
    TypeError,
    `"_class_name" "EulerDiscreteScheduler" is not supported`,
  );
});

Deno.test("scheduler configs: unsupported values throw errors naming key and value", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ solver_order: 3 }, `"solver_order" is 3, expected one of 1, 2`],
    [{ algorithm_type: "dpmsolver" }, `"algorithm_type" is "dpmsolver"`],
    [{ prediction_type: "v_prediction" }, `"prediction_type" "v_prediction" is not supported`],
    [{ thresholding: true }, `"thresholding" true is not supported`],
    [{ use_karras_sigmas: true }, `"use_karras_sigmas" true is not supported`],
    [{ variance_type: "learned_range" }, `"variance_type" "learned_range" is not supported`],
    [{ beta_schedule: "squaredcos_cap_v2" }, `"beta_schedule" is "squaredcos_cap_v2"`],
    [{ timestep_spacing: "karras" }, `"timestep_spacing" is "karras"`],
    [{ num_train_timesteps: 10.5 }, `"num_train_timesteps" is 10.5, expected an integer >= 2`],
    [{ beta_start: "1e-4" }, `"beta_start" is "1e-4", expected a finite number`],
    [{ lower_order_final: 1 }, `"lower_order_final" is 1, expected true or false`],
    [{ trained_betas: [0.1, 0.2] }, `"trained_betas" is [0.1,0.2], expected null or 1000`],
  ];
  for (const [json, msg] of cases) {
    assertThrows(() => parseDpmSolverConfig({ ...DPM_JSON, ...json }), TypeError, msg);
  }
  assertEquals(parseDpmSolverConfig({ ...DPM_JSON, solver_type: "bh2" }).solverType, "midpoint");
  assertEquals(parseDpmSolverConfig({}).lambdaMinClipped, -Infinity);
  assertThrows(() => parseDdimConfig({}), TypeError, `"clip_sample" true is not supported`);
  assertThrows(
    () => parseDdimConfig({ clip_sample: false, set_alpha_to_one: "no" }),
    TypeError,
    `"set_alpha_to_one" is "no", expected true or false`,
  );
});

Deno.test("step counts outside [1, T] throw errors naming numInferenceSteps and the range", () => {
  for (const n of [0, -3, 2.5, 1001]) {
    assertThrows(
      () => new DPMSolverMultistepScheduler(n),
      RangeError,
      `numInferenceSteps is ${n}, expected an integer in [1, 1000]`,
    );
    assertThrows(
      () => new DDIMScheduler(n, { timestepSpacing: "linspace" }),
      RangeError,
      `numInferenceSteps is ${n}, expected an integer in [1, 1000]`,
    );
  }
  assertThrows(
    () => new DPMSolverMultistepScheduler(1000),
    RangeError,
    "gives repeated timesteps",
  );
});
