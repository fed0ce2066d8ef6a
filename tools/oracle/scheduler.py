"""Scheduler fixtures: PixArt's DPMSolverMultistepScheduler config, tables, fixed-ε trajectories."""

import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from common import OUT, describe, metadata, save

SEED = 505

# What PixArt ships (SPEC §6): dpmsolver++, order 2, midpoint, linear betas 1e-4..0.02.
DPM_CONFIG = dict(
    num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
    algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint", prediction_type="epsilon",
    lower_order_final=True, euler_at_final=False, timestep_spacing="linspace", steps_offset=0,
    thresholding=False, use_karras_sigmas=False, variance_type=None,
)
# DDIM on the same betas for the inversion baseline: no x0 clipping (latents are not in [-1, 1])
# and alpha_prod at the final step = alphas_cumprod[0] (set_alpha_to_one False, as MasaCtrl).
DDIM_OVERRIDES = dict(clip_sample=False, set_alpha_to_one=False)


def dpm():
    return DPMSolverMultistepScheduler(**DPM_CONFIG)


def ddim():
    return DDIMScheduler.from_config(dpm().config, **DDIM_OVERRIDES)


def trajectory(sched, steps, x0, eps):
    sched.set_timesteps(steps)
    x = x0.clone()
    xs = []
    for k, t in enumerate(sched.timesteps):
        x = sched.step(eps[k], t, x, return_dict=False)[0]
        xs.append(x)
    return torch.stack(xs)


@torch.no_grad()
def make():
    tensors = {}
    s = dpm()
    tensors["alphas_cumprod"] = s.alphas_cumprod
    tensors["betas"] = s.betas
    for n in (5, 10, 20, 30):
        s = dpm()
        s.set_timesteps(n)
        tensors[f"dpm.n{n}.timesteps"] = s.timesteps
        tensors[f"dpm.n{n}.sigmas"] = s.sigmas  # sigma~ = s/alpha, N+1 values, last 0
        alpha_t, sigma_t = s._sigma_to_alpha_sigma_t(s.sigmas)
        tensors[f"dpm.n{n}.alpha_t"] = alpha_t
        tensors[f"dpm.n{n}.sigma_t"] = sigma_t
        d = ddim()
        d.set_timesteps(n)
        tensors[f"ddim.n{n}.timesteps"] = d.timesteps

    g = torch.Generator().manual_seed(SEED)
    x0 = torch.randn(2, 4, 4, 6, generator=g)
    for n in (5, 10):
        eps = torch.randn(n, 2, 4, 4, 6, generator=g)
        tensors[f"traj.n{n}.x0"] = x0
        tensors[f"traj.n{n}.eps"] = eps
        tensors[f"traj.n{n}.dpm"] = trajectory(dpm(), n, x0, eps)  # x after each step [n, ...]
        tensors[f"traj.n{n}.ddim"] = trajectory(ddim(), n, x0, eps)
    # A better-conditioned run: eps close to the starting noise, so the data prediction stays
    # O(1) instead of growing like 1/alpha (what a denoiser that knows the noise would give).
    for n in (10, 20):
        eps = x0[None] + 0.1 * torch.randn(n, 2, 4, 4, 6, generator=g)
        tensors[f"near.n{n}.eps"] = eps
        tensors[f"near.n{n}.dpm"] = trajectory(dpm(), n, x0, eps)
        tensors[f"near.n{n}.ddim"] = trajectory(ddim(), n, x0, eps)
    path = save(tensors, OUT / "scheduler_reference.safetensors", metadata(
        SEED, dpm_config=dict(dpm().config), ddim_config=dict(ddim().config),
        description="DPMSolverMultistep (PixArt config) and DDIM (same betas, clip_sample False, "
        "set_alpha_to_one False) tables; traj.nN.* and near.nN.* run N steps from traj.n5.x0 with "
        "eps[k] as the model output at step k and hold the sample after each step"))
    return {path.name: describe(tensors)}
