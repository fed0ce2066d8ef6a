"""Scheduler and inversion fixtures for tests/pipeline/ (SPEC §6, §7.1, §11).

Usage (dev only; tests never run Python):
    tools/.venv/bin/python tools/make_scheduler_fixtures.py   # (re)writes tests/fixtures/scheduler/

Records, with diffusers' DPMSolverMultistepScheduler (PixArt's scheduler_config, SPEC §6) and
DDIMScheduler (the same config with clip_sample False, set_alpha_to_one False, as MasaCtrl):
    betas, alphas_cumprod                    [1000] training tables
    dpm.n{N}.{timesteps,sigmas,alpha_t,sigma_t,lambda_t}   N = 10, 20, 30 ([N] / [N+1])
    dpm.n{N}.traj, dpm.n{N}.x0               [N, *S] sample after each step, data prediction
    ddim.n{N}.{timesteps,traj,x0}            same through DDIMScheduler.step
    ddim_inv.n{N}                            [N+1, *S] x_0..x_N, MasaCtrl `next_step` inversion
                                             with DDIMScheduler (x_N = z0)
    grid_inv.n{N}                            [N+1, *S] DDIM inversion (SPEC §7.1) on the DPM grid
    var.{name}.*                             config variants at N = 10 (config in metadata)
    ts.{dpm,ddim}.{spacing}.n{N}             timesteps only, for rounding edge cases
    noise, mu, z0                            [*S] initial noise, fake-model mean, clean latent
    fake.a, fake.b                           [1000] fake-model coefficients per timestep

The fake ε-model, deterministic and cheap to rebuild in TypeScript: the ideal denoiser of
Gaussian data N(mu, V·I) plus a cosine perturbation,
    ε(x, t) = a_t·x + b_t·mu,   a_t = s/(α²V + s²) + A·cos(t/100),   b_t = −α·s/(α²V + s²),
α = √ᾱ_t, s = √(1 − ᾱ_t) in f64 from the f32 table, a_t and b_t rounded to f32, V = 0.25, A = 0.1.
Unlike a pure 0.1·x·cos(t/100) + c model, its x0-predictions stay latent-sized, as a real
denoiser's do, so reconstruction comparisons between inversions mean something.
Everything is seeded, CPU, float32; a rerun with the pinned versions rewrites the same bytes.
"""

import json
import math
import pathlib
import sys

import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "oracle"))
from common import save, versions  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "scheduler" / "scheduler.safetensors"
SEED = 4242
SHAPE = (2, 4, 3, 5)
V, A = 0.25, 0.1
STEPS = (10, 20, 30)

# PixArt's scheduler_config.json values (SPEC §6).
DPM_CONFIG = dict(
    num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
    trained_betas=None, solver_order=2, prediction_type="epsilon", thresholding=False,
    algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=True,
    euler_at_final=False, use_karras_sigmas=False, final_sigmas_type="zero",
    lambda_min_clipped=-float("inf"), variance_type=None, timestep_spacing="linspace",
    steps_offset=0,
)
DDIM_OVERRIDES = dict(clip_sample=False, set_alpha_to_one=False)

# Config variants (JSON overrides of DPM_CONFIG, or of the DDIM config), run at N = 10.
DPM_VARIANTS = {
    "heun": dict(solver_type="heun"),
    "order1": dict(solver_order=1),
    "sigma_min": dict(final_sigmas_type="sigma_min"),
    "euler_final": dict(final_sigmas_type="sigma_min", lower_order_final=False,
                        euler_at_final=True),
    "no_lower_final": dict(final_sigmas_type="sigma_min", lower_order_final=False),
    "leading": dict(timestep_spacing="leading", steps_offset=1),
    "trailing": dict(timestep_spacing="trailing"),
    "scaled_linear": dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"),
    "lambda_clip": dict(lambda_min_clipped=-5.0),
}
DDIM_VARIANTS = {
    "ddim_leading": dict(timestep_spacing="leading", steps_offset=1, set_alpha_to_one=True),
    "ddim_trailing": dict(timestep_spacing="trailing"),
}
TIMESTEP_NS = (1, 2, 3, 7, 26, 46, 50, 52, 60, 999)


def dpm(**overrides):
    return DPMSolverMultistepScheduler(**{**DPM_CONFIG, **overrides})


def ddim(**overrides):
    return DDIMScheduler.from_config(dpm().config, **{**DDIM_OVERRIDES, **overrides})


def fake_coefficients(alphas_cumprod):
    a, b = [], []
    for t, ac in enumerate(alphas_cumprod.tolist()):
        al, s = math.sqrt(ac), math.sqrt(1.0 - ac)
        d = al * al * V + s * s
        a.append(s / d + A * math.cos(t / 100))
        b.append(-al * s / d)
    return torch.tensor(np.array(a, np.float32)), torch.tensor(np.array(b, np.float32))


class Fake:
    def __init__(self, alphas_cumprod, mu):
        self.a, self.b = fake_coefficients(alphas_cumprod)
        self.mu = mu

    def __call__(self, x, t):
        t = int(t)
        return x * float(self.a[t]) + self.mu * float(self.b[t])


def dpm_tables(s, prefix, out):
    out[f"{prefix}.timesteps"] = s.timesteps
    out[f"{prefix}.sigmas"] = s.sigmas
    alpha_t, sigma_t = s._sigma_to_alpha_sigma_t(s.sigmas)
    out[f"{prefix}.alpha_t"] = alpha_t
    out[f"{prefix}.sigma_t"] = sigma_t
    out[f"{prefix}.lambda_t"] = torch.log(alpha_t) - torch.log(sigma_t)  # the values step() uses


def dpm_trajectory(s, fake, x):
    xs, x0s = [], []
    for t in s.timesteps:
        x = s.step(fake(x, t), t, x, return_dict=False)[0]
        xs.append(x)
        x0s.append(s.model_outputs[-1])  # convert_model_output's data prediction
    return torch.stack(xs), torch.stack(x0s)


def ddim_trajectory(d, fake, x):
    xs, x0s = [], []
    for t in d.timesteps:
        x, x0 = d.step(fake(x, t), t, x, return_dict=False)
        xs.append(x)
        x0s.append(x0)
    return torch.stack(xs), torch.stack(x0s)


def next_step(d, model_output, timestep, x):
    """MasaCtrl's DDIM inversion step (masactrl/diffuser_utils.py), verbatim in effect."""
    next_t = timestep
    timestep = min(timestep - d.config.num_train_timesteps // d.num_inference_steps, 999)
    alpha_prod_t = d.alphas_cumprod[timestep] if timestep >= 0 else d.final_alpha_cumprod
    alpha_prod_t_next = d.alphas_cumprod[next_t]
    beta_prod_t = 1 - alpha_prod_t
    pred_x0 = (x - beta_prod_t**0.5 * model_output) / alpha_prod_t**0.5
    pred_dir = (1 - alpha_prod_t_next) ** 0.5 * model_output
    return alpha_prod_t_next**0.5 * pred_x0 + pred_dir


def ddim_inversion(d, fake, z0):
    x, xs = z0, [z0]
    for t in reversed(d.timesteps.tolist()):
        x = next_step(d, fake(x, t), t, x)
        xs.append(x)
    return torch.stack(xs[::-1])  # x_0 (noisiest) .. x_N = z0


def grid_inversion(s, fake, z0):
    """SPEC §7.1 on the DPM grid: ε at the known latent x_{k+1} with the destination timestep."""
    alpha, sigma = s._sigma_to_alpha_sigma_t(s.sigmas)
    x, xs = z0, [z0]
    for k in reversed(range(len(s.timesteps))):
        eps = fake(x, s.timesteps[k])
        x0 = (x - sigma[k + 1] * eps) / alpha[k + 1]
        x = alpha[k] * x0 + sigma[k] * eps
        xs.append(x)
    return torch.stack(xs[::-1])


def json_config(config):
    return {k: v for k, v in dict(config).items() if k != "_use_default_values"}


@torch.no_grad()
def main():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    noise = torch.randn(SHAPE, generator=g)
    mu = torch.randn(SHAPE, generator=g) * 0.5
    z0 = mu + 0.5 * torch.randn(SHAPE, generator=g)
    base = dpm()
    fake = Fake(base.alphas_cumprod, mu)
    t = {"betas": base.betas, "alphas_cumprod": base.alphas_cumprod, "noise": noise, "mu": mu,
         "z0": z0, "fake.a": fake.a, "fake.b": fake.b}
    for n in STEPS:
        s = dpm()
        s.set_timesteps(n)
        dpm_tables(s, f"dpm.n{n}", t)
        t[f"dpm.n{n}.traj"], t[f"dpm.n{n}.x0"] = dpm_trajectory(s, fake, noise)
        d = ddim()
        d.set_timesteps(n)
        t[f"ddim.n{n}.timesteps"] = d.timesteps
        t[f"ddim.n{n}.traj"], t[f"ddim.n{n}.x0"] = ddim_trajectory(d, fake, noise)
        t[f"ddim_inv.n{n}"] = ddim_inversion(d, fake, z0)
        s = dpm()
        s.set_timesteps(n)
        t[f"grid_inv.n{n}"] = grid_inversion(s, fake, z0)
    variants = {}
    for name, over in DPM_VARIANTS.items():
        s = dpm(**over)
        variants[name] = json_config(s.config)
        s.set_timesteps(10)
        dpm_tables(s, f"var.{name}", t)
        vf = Fake(s.alphas_cumprod, mu)
        t[f"var.{name}.traj"], t[f"var.{name}.x0"] = dpm_trajectory(s, vf, noise)
    for name, over in DDIM_VARIANTS.items():
        d = ddim(**over)
        variants[name] = json_config(d.config)
        d.set_timesteps(10)
        t[f"var.{name}.timesteps"] = d.timesteps
        t[f"var.{name}.traj"], t[f"var.{name}.x0"] = ddim_trajectory(d, fake, noise)
    for n in TIMESTEP_NS:
        for spacing in ("linspace", "leading", "trailing"):
            s = dpm(timestep_spacing=spacing)
            s.set_timesteps(n)
            t[f"ts.dpm.{spacing}.n{n}"] = s.timesteps
            d = ddim(timestep_spacing=spacing)
            d.set_timesteps(n)
            t[f"ts.ddim.{spacing}.n{n}"] = d.timesteps
    meta = {
        "script": "tools/make_scheduler_fixtures.py",
        "seed": str(SEED),
        **versions(),
        "dpm_config": json.dumps(json_config(dpm().config), sort_keys=True),
        "ddim_config": json.dumps(json_config(ddim().config), sort_keys=True),
        "variants": json.dumps(variants, sort_keys=True),
        "fake_model": f"eps(x,t) = a[t]*x + b[t]*mu; a = s/(al^2*V+s^2) + A*cos(t/100), "
                      f"b = -al*s/(al^2*V+s^2), al = sqrt(ac[t]), s = sqrt(1-ac[t]), V={V}, A={A}",
    }
    path = save(t, OUT, meta)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes, {len(t)} tensors)")


if __name__ == "__main__":
    main()
