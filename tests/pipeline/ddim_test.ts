// DDIMScheduler.step on the GPU against diffusers 0.42.1 (torch 2.15.0, CPU f32): PixArt's
// scheduler config with clip_sample false and set_alpha_to_one false (MasaCtrl's DDIM), the fixed
// noise and fake ε-model of tests/pipeline/_scheduler_fixture.ts; fixture from
// `tools/.venv/bin/python tools/make_scheduler_fixtures.py`. Samples: |ours − ref| <= 1e-6 +
// 1e-5·|ref|; x0 predictions: atol 1e-6/α_t (they divide by α_t), rtol 1e-5.

import { assertEquals } from "@std/assert";
import { DDIMScheduler } from "../../pipeline/ddim.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { fakeModel, fixture, fixtureJson, maxAbs, row, SHAPE } from "./_scheduler_fixture.ts";

const TRAJ_TOL = { atol: 1e-6, rtol: 1e-5 };

async function checkTrajectory(d: DDIMScheduler, prefix: string): Promise<number> {
  const gpu = await testGpu();
  const f = fixture();
  const fake = fakeModel(gpu, d.alphasCumprod, f.f32("mu"));
  const traj = f.f32(`${prefix}.traj`), x0s = f.f32(`${prefix}.x0`);
  const state = d.createState();
  let x = Tensor.from(gpu, f.f32("noise"), SHAPE);
  let worst = 0;
  for (let k = 0; k < d.numInferenceSteps; k++) {
    const eps = await fake.model(x, d.timesteps[k]);
    const x0 = d.predictX0(eps, x, k);
    const next = d.step(state, eps, x);
    const got = await next.toArray(), ref = row(traj, k);
    assertClose(got, ref, TRAJ_TOL, `${prefix} x after step ${k}`);
    const x0Tol = { atol: 1e-6 / d.stepLevels(k).from.alpha, rtol: 1e-5 };
    assertClose(await x0.toArray(), row(x0s, k), x0Tol, `${prefix} x0 at step ${k}`);
    worst = Math.max(worst, maxAbs(got, ref));
    for (const t of [eps, x0, x]) t.dispose();
    x = next;
  }
  assertEquals(state.stepIndex, d.numInferenceSteps);
  x.dispose();
  fake.dispose();
  return worst;
}

for (const n of [10, 20, 30]) {
  Deno.test({
    name: `DDIMScheduler.step matches diffusers over ${n} steps (atol 1e-6, rtol 1e-5)`,
    ...GPU_TEST,
    async fn() {
      const d = DDIMScheduler.fromConfig(fixtureJson("ddim_config"), n);
      const worst = await checkTrajectory(d, `ddim.n${n}`);
      console.log(`  N=${n}: max abs err of x along the trajectory ${worst.toExponential(2)}`);
    },
  });
}

Deno.test({
  name: "DDIMScheduler.step matches diffusers with leading and trailing spacing at 10 steps",
  ...GPU_TEST,
  async fn() {
    const variants = fixtureJson("variants") as Record<string, Record<string, unknown>>;
    for (const name of ["ddim_leading", "ddim_trailing"]) {
      const worst = await checkTrajectory(
        DDIMScheduler.fromConfig(variants[name], 10),
        `var.${name}`,
      );
      console.log(`  ${name}: max abs err of x ${worst.toExponential(2)}`);
    }
  },
});

Deno.test("DDIM steps land on timesteps[k] − T/N, as diffusers' step does", () => {
  const d = new DDIMScheduler(30, { timestepSpacing: "linspace", setAlphaToOne: false });
  assertEquals(d.timesteps.slice(0, 3), [999, 965, 930]);
  assertEquals([0, 1, 29].map((k) => d.prevTimestep(k)), [966, 932, -33]);
  const last = d.stepLevels(29).to;
  assertEquals(last.alpha, Math.fround(Math.sqrt(d.alphasCumprod[0])));
});
