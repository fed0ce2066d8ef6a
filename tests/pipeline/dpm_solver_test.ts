// DPMSolverMultistepScheduler.step on the GPU against diffusers 0.42.1 (torch 2.15.0, CPU f32):
// the same fixed noise and fake ε-model (tests/pipeline/_scheduler_fixture.ts), fixture from
// `tools/.venv/bin/python tools/make_scheduler_fixtures.py`. Every sample along the trajectory:
// |ours − ref| <= 1e-6 + 1e-5·|ref| (f32 GPU vs torch CPU, SPEC §11). Data predictions
// x0 = (x − s·ε)/α_k amplify one-ulp differences of x by 1/α_k (up to ~160 at τ = 999), so
// they are held to atol 1e-6/α_k, rtol 1e-5.

import { assertEquals, assertThrows } from "@std/assert";
import { DPMSolverMultistepScheduler } from "../../pipeline/dpm_solver.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { fakeModel, fixture, fixtureJson, maxAbs, row, SHAPE } from "./_scheduler_fixture.ts";

const TRAJ_TOL = { atol: 1e-6, rtol: 1e-5 };

/** Runs the sampler from the fixture noise; checks x and x0 after every step. */
async function checkTrajectory(s: DPMSolverMultistepScheduler, prefix: string): Promise<number> {
  const gpu = await testGpu();
  const f = fixture();
  const fake = fakeModel(gpu, s.alphasCumprod, f.f32("mu"));
  const traj = f.f32(`${prefix}.traj`), x0s = f.f32(`${prefix}.x0`);
  const state = s.createState();
  let x = Tensor.from(gpu, f.f32("noise"), SHAPE);
  let worst = 0;
  for (let k = 0; k < s.numInferenceSteps; k++) {
    const eps = await fake.model(x, s.timesteps[k]);
    const x0 = s.predictX0(eps, x, k);
    const next = s.step(state, eps, x);
    const got = await next.toArray(), ref = row(traj, k);
    assertClose(got, ref, TRAJ_TOL, `${prefix} x after step ${k}`);
    const x0Tol = { atol: 1e-6 / s.alphaT[k], rtol: 1e-5 };
    assertClose(await x0.toArray(), row(x0s, k), x0Tol, `${prefix} x0 at step ${k}`);
    worst = Math.max(worst, maxAbs(got, ref));
    eps.dispose();
    x0.dispose();
    x.dispose();
    x = next;
  }
  assertEquals(state.stepIndex, s.numInferenceSteps);
  x.dispose();
  state.dispose();
  fake.dispose();
  return worst;
}

for (const n of [10, 20, 30]) {
  Deno.test({
    name: `DPMSolverMultistepScheduler.step matches diffusers over ${n} steps ` +
      `(atol 1e-6, rtol 1e-5)`,
    ...GPU_TEST,
    async fn() {
      const s = DPMSolverMultistepScheduler.fromConfig(fixtureJson("dpm_config"), n);
      const worst = await checkTrajectory(s, `dpm.n${n}`);
      console.log(`  N=${n}: max abs err of x along the trajectory ${worst.toExponential(2)}`);
    },
  });
}

Deno.test({
  name: "DPMSolverMultistepScheduler.step matches diffusers for config variants at 10 steps",
  ...GPU_TEST,
  async fn() {
    const variants = fixtureJson("variants") as Record<string, Record<string, unknown>>;
    for (const [name, json] of Object.entries(variants)) {
      if (name.startsWith("ddim")) continue;
      const worst = await checkTrajectory(
        DPMSolverMultistepScheduler.fromConfig(json, 10),
        `var.${name}`,
      );
      console.log(`  ${name}: max abs err of x ${worst.toExponential(2)}`);
    }
  },
});

Deno.test({
  name: "DPM-Solver branch states keep separate histories and free them on dispose",
  ...GPU_TEST,
  async fn() {
    // Two branches interleaved step by step must equal two runs one after the other.
    const gpu = await testGpu();
    const f = fixture();
    const s = new DPMSolverMultistepScheduler(6);
    const live = gpu.memory().liveBytes;
    const fake = fakeModel(gpu, s.alphasCumprod, f.f32("mu"));
    const start = [f.f32("noise"), f.f32("z0")];
    const run = async (order: "interleaved" | "sequential") => {
      const states = [s.createState(), s.createState()];
      const xs = start.map((d) => Tensor.from(gpu, d, SHAPE));
      const stepOne = async (b: number, k: number) => {
        const eps = await fake.model(xs[b], s.timesteps[k]);
        const next = s.step(states[b], eps, xs[b]);
        eps.dispose();
        xs[b].dispose();
        xs[b] = next;
      };
      if (order === "interleaved") {
        for (let k = 0; k < 6; k++) for (const b of [0, 1]) await stepOne(b, k);
      } else {
        for (const b of [0, 1]) for (let k = 0; k < 6; k++) await stepOne(b, k);
      }
      const out = await Promise.all(xs.map((x) => x.toArray()));
      xs.forEach((x) => x.dispose());
      states.forEach((st) => st.dispose());
      return out;
    };
    const a = await run("interleaved"), b = await run("sequential");
    assertEquals(Array.from(a[0]), Array.from(b[0]));
    assertEquals(Array.from(a[1]), Array.from(b[1]));
    fake.dispose();
    assertEquals(gpu.memory().liveBytes, live, "tensors left after the runs");
  },
});

Deno.test({
  name: "DPM-Solver step refuses foreign states, extra steps and mismatched shapes",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const s = new DPMSolverMultistepScheduler(1), other = new DPMSolverMultistepScheduler(1);
    const x = Tensor.from(gpu, new Float32Array(8), [1, 4, 1, 2]);
    const eps8 = Tensor.from(gpu, new Float32Array(16), [1, 8, 1, 2]);
    const state = s.createState();
    assertThrows(
      () => s.step(other.createState(), x, x),
      TypeError,
      "the state was created by another scheduler",
    );
    assertThrows(() => s.step(state, eps8, x), TypeError, "model output [1, 8, 1, 2] and sample");
    const y = s.step(state, x, x); // the single step: first order down to σ = 0
    assertThrows(() => s.step(state, x, y), RangeError, "all 1 steps were already taken");
    assertThrows(() => s.predictX0(x, x, 1), RangeError, "step 1 is outside [0, 0]");
    for (const t of [x, eps8, y]) t.dispose();
    state.dispose();
  },
});
