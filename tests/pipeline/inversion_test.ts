// Inversion (SPEC §7) with the fake ε-model of tests/pipeline/_scheduler_fixture.ts. DDIM
// inversion is checked against the fixture from `tools/.venv/bin/python
// tools/make_scheduler_fixtures.py` (diffusers 0.42.1, torch 2.15.0, CPU f32): MasaCtrl's
// `next_step` with DDIMScheduler, and SPEC §7.1 on the DPM grid, each latent within atol 1e-6,
// rtol 1e-5. The DPM-Solver++ inversions are compared by reconstruction: invert z0, sample back
// with the same model and scheduler, latent MSE against z0.

import { assertEquals, assertLess, assertRejects } from "@std/assert";
import { DDIMScheduler } from "../../pipeline/ddim.ts";
import { DPMSolverMultistepScheduler } from "../../pipeline/dpm_solver.ts";
import {
  ddimInversion,
  type DpmInversionOptions,
  dpmSolverInversion,
  type EpsModel,
  type InversionResult,
} from "../../pipeline/inversion.ts";
import type { Sampler } from "../../pipeline/scheduler_ops.ts";
import { Tensor } from "../../tensor/tensor.ts";
import { assertClose, GPU_TEST, testGpu } from "../_harness.ts";
import { fakeModel, fixture, fixtureJson, mse, row, SHAPE } from "./_scheduler_fixture.ts";

const TOL = { atol: 1e-6, rtol: 1e-5 };

async function checkLatents(result: InversionResult, key: string): Promise<void> {
  const ref = fixture().f32(key);
  const n = result.latents.length - 1;
  for (let k = 0; k <= n; k++) {
    assertClose(await result.latents[k].toArray(), row(ref, k), TOL, `${key} x_${k}`);
  }
}

function release(result: InversionResult): void {
  result.latents.slice(0, -1).forEach((t) => t.dispose());
}

/** Samples from x_0 with `sampler` and the model; returns x_N on the host. */
async function regenerate(
  sampler: Sampler,
  model: EpsModel,
  x0: Tensor,
): Promise<ArrayLike<number>> {
  const state = sampler.createState();
  let x = x0;
  for (let k = 0; k < sampler.numInferenceSteps; k++) {
    const eps = await model(x, sampler.timesteps[k]);
    const next = sampler.step(state, eps, x);
    eps.dispose();
    if (x !== x0) x.dispose();
    x = next;
  }
  state.dispose();
  const out = await x.toArray();
  x.dispose();
  return out;
}

for (const n of [10, 20, 30]) {
  Deno.test({
    name: `ddimInversion matches MasaCtrl next_step (DDIMScheduler) and SPEC §7.1 on the DPM ` +
      `grid at ${n} steps (atol 1e-6, rtol 1e-5)`,
    ...GPU_TEST,
    async fn() {
      const gpu = await testGpu();
      const f = fixture();
      const ddim = DDIMScheduler.fromConfig(fixtureJson("ddim_config"), n);
      const dpm = DPMSolverMultistepScheduler.fromConfig(fixtureJson("dpm_config"), n);
      const fake = fakeModel(gpu, dpm.alphasCumprod, f.f32("mu"));
      const z0 = Tensor.from(gpu, f.f32("z0"), SHAPE);
      for (const [sched, key] of [[ddim, `ddim_inv.n${n}`], [dpm, `grid_inv.n${n}`]] as const) {
        const result = await ddimInversion(fake.model, z0, sched);
        assertEquals(result.latents[n], z0);
        assertEquals(result.modelCalls, n);
        await checkLatents(result, key);
        release(result);
      }
      z0.dispose();
      fake.dispose();
    },
  });
}

Deno.test({
  name: "corrected DPM-Solver++ inversion reconstructs z0 better than the uncorrected one and " +
    "than DDIM inversion at 10, 20 and 30 steps",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const f = fixture();
    const z0Host = f.f32("z0");
    const z0 = Tensor.from(gpu, z0Host, SHAPE);
    const rows: string[] = [];
    for (const n of [10, 20, 30]) {
      const sched = new DPMSolverMultistepScheduler(n);
      const fake = fakeModel(gpu, sched.alphasCumprod, f.f32("mu"));
      const methods: [string, () => Promise<InversionResult>][] = [
        ["DDIM", () => ddimInversion(fake.model, z0, sched)],
        [
          "DPM++ K=0",
          () => dpmSolverInversion(fake.model, z0, sched, { predictor: "dpm", iterations: 0 }),
        ],
        ["DPM++ K=3", () => dpmSolverInversion(fake.model, z0, sched)],
      ];
      const err: Record<string, number> = {};
      for (const [name, invert] of methods) {
        const result = await invert();
        err[name] = mse(await regenerate(sched, fake.model, result.latents[0]), z0Host);
        if (name === "DPM++ K=3") assertEquals(result.modelCalls, 4 * n);
        release(result);
      }
      rows.push(
        `  N=${n}: ` + Object.entries(err).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", "),
      );
      assertLess(err["DPM++ K=3"], err["DPM++ K=0"]);
      assertLess(err["DPM++ K=3"], err["DDIM"]);
      fake.dispose();
    }
    console.log("  reconstruction MSE of z0 (invert, then sample with DPM-Solver++ 2M):");
    console.log(rows.join("\n"));
    z0.dispose();
  },
});

Deno.test({
  name: "with a first-order sampler the corrected inversion converges to the exact inverse",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const f = fixture();
    const z0Host = f.f32("z0");
    const z0 = Tensor.from(gpu, z0Host, SHAPE);
    const sched = new DPMSolverMultistepScheduler(10, { solverOrder: 1 });
    const fake = fakeModel(gpu, sched.alphasCumprod, f.f32("mu"));
    const opts: DpmInversionOptions = { iterations: 30, rho: 1, tolerance: 1e-12 };
    const result = await dpmSolverInversion(fake.model, z0, sched, opts);
    const err = mse(await regenerate(sched, fake.model, result.latents[0]), z0Host);
    const ddim = await ddimInversion(fake.model, z0, sched);
    const ddimErr = mse(await regenerate(sched, fake.model, ddim.latents[0]), z0Host);
    console.log(
      `  order 1, N=10: MSE ${err.toExponential(2)} (DDIM inversion ${
        ddimErr.toExponential(2)
      }); ` +
        `iterations ${result.iterations.join(",")}; residuals ${
          result.residuals.map((r) => r.toExponential(0)).join(",")
        }`,
    );
    assertLess(err, 1e-10);
    assertLess(result.modelCalls, 10 * 31); // the tolerance stopped some steps early
    for (const r of result.residuals) assertEquals(Number.isFinite(r), true);
    release(result);
    release(ddim);
    z0.dispose();
    fake.dispose();
  },
});

Deno.test({
  name: "dpmSolverInversion with K = 0 and the DDIM predictor is DDIM inversion, and frees " +
    "every temporary",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const f = fixture();
    const z0 = Tensor.from(gpu, f.f32("z0"), SHAPE);
    const sched = new DPMSolverMultistepScheduler(8);
    const fake = fakeModel(gpu, sched.alphasCumprod, f.f32("mu"));
    const live = gpu.memory().liveBytes;
    const a = await dpmSolverInversion(fake.model, z0, sched, { iterations: 0 });
    const b = await ddimInversion(fake.model, z0, sched);
    for (let k = 0; k < 8; k++) {
      assertEquals(
        Array.from(await a.latents[k].toArray()),
        Array.from(await b.latents[k].toArray()),
      );
    }
    release(a);
    release(b);
    const c = await dpmSolverInversion(fake.model, z0, sched, { measureResiduals: true });
    assertEquals(c.iterations, new Array(8).fill(3));
    release(c);
    assertEquals(gpu.memory().liveBytes, live);
    z0.dispose();
    fake.dispose();
  },
});

Deno.test({
  name: "dpmSolverInversion options: bad values throw errors naming the option, value and range",
  ...GPU_TEST,
  async fn() {
    const gpu = await testGpu();
    const sched = new DPMSolverMultistepScheduler(2);
    const z0 = Tensor.from(gpu, new Float32Array(8), [1, 4, 1, 2]);
    const model: EpsModel = (x) => x;
    const cases: [DpmInversionOptions, string][] = [
      [{ iterations: -1 }, `option "iterations" is -1, expected an integer in [0, 1000]`],
      [{ iterations: 1.5 }, `option "iterations" is 1.5, expected an integer in [0, 1000]`],
      [{ rho: 0 }, `option "rho" is 0, expected a number in (0, 2)`],
      [{ rho: 2.5 }, `option "rho" is 2.5, expected a number in (0, 2)`],
      [{ rho: NaN }, `option "rho" is NaN, expected a number in (0, 2)`],
      [{ tolerance: -1e-3 }, `option "tolerance" is -0.001, expected a finite number >= 0`],
      [{ predictor: "euler" as "dpm" }, `option "predictor" is "euler", expected "ddim" or "dpm"`],
    ];
    for (const [opts, msg] of cases) {
      await assertRejects(() => dpmSolverInversion(model, z0, sched, opts), RangeError, msg);
    }
    const wide: EpsModel = () => Tensor.from(gpu, new Float32Array(16), [1, 8, 1, 2]);
    await assertRejects(
      () => ddimInversion(wide, z0, sched),
      TypeError,
      "Cannot invert at timestep 500: model output [1, 8, 1, 2] and sample [1, 4, 1, 2] differ",
    );
    z0.dispose();
  },
});
