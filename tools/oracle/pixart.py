"""PixArtTransformer2DModel fixtures: two tiny configs, block-boundary activations via hooks."""

import torch
from diffusers import PixArtTransformer2DModel
from diffusers.models.embeddings import get_2d_sincos_pos_embed

from common import OUT, Recorder, describe, metadata, randomize_, save

CAPTION_CHANNELS = 32  # = the tiny T5's d_model, so the pipeline can use config A
CAPTION_LEN = 120

# A: like PixArt-XL-2-512x512: square latent, no micro-conditions; interpolation_scale and
# use_additional_conditions left to their defaults (saved as null in config.json).
CONFIG_A = dict(
    num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=8, num_layers=2,
    cross_attention_dim=16, sample_size=8, patch_size=2, caption_channels=CAPTION_CHANNELS,
    activation_fn="gelu-approximate", attention_bias=True, norm_type="ada_norm_single",
    norm_elementwise_affine=False, norm_eps=1e-6, num_embeds_ada_norm=1000,
    interpolation_scale=None, use_additional_conditions=None,
)
# B: like PixArt-XL-2-1024-MS: micro-conditions on, explicit interpolation_scale 2, run on a
# non-square latent (8 x 12) that differs from sample_size. inner 24 is divisible by 3 as the
# size embedders need (size_emb_dim = inner // 3 = 8).
CONFIG_B = dict(CONFIG_A, num_attention_heads=3, num_layers=3, cross_attention_dim=24,
                interpolation_scale=2, use_additional_conditions=True)

SEED_A, SEED_B = 101, 202


def build(config, seed):
    torch.manual_seed(seed)
    model = PixArtTransformer2DModel(**config).eval()
    randomize_(model, seed)
    return model


@torch.no_grad()
def run(model, inputs):
    rec = Recorder()
    rec.add(model.pos_embed.proj, "patch_proj_out")  # conv only, [B, C, h, w]
    rec.add(model.pos_embed, "pos_embed_out")  # flattened + sin-cos table, [B, N, C]
    rec.add(model.adaln_single.emb, "embedded_timestep")
    rec.add(model.adaln_single, "adaln_t6")  # (t6, embedded_timestep): first is Linear(SiLU(e_t))
    rec.add(model.adaln_single.emb.timestep_embedder, "timestep_embedder_out")
    rec.add(model.caption_projection, "caption_projection_out")
    for i, block in enumerate(model.transformer_blocks):
        rec.add(block, f"block.{i}.out")
    if model.use_additional_conditions:
        rec.add(model.adaln_single.emb.resolution_embedder, "resolution_embedder_out")
        rec.add(model.adaln_single.emb.aspect_ratio_embedder, "aspect_ratio_embedder_out")
    out = model(
        inputs["latent"],
        encoder_hidden_states=inputs["encoder_hidden_states"],
        encoder_attention_mask=inputs["encoder_attention_mask"],
        timestep=inputs["timestep"],
        added_cond_kwargs=inputs.get("added_cond_kwargs"),
        return_dict=False,
    )[0]
    rec.remove()
    acts = dict(rec.out)
    acts["output"] = out
    return acts


def make_inputs(seed, latent_hw, valid_tokens, timesteps, micro=None):
    g = torch.Generator().manual_seed(seed + 1)
    b = len(timesteps)
    latent = torch.randn(b, 4, *latent_hw, generator=g)
    ehs = torch.randn(b, CAPTION_LEN, CAPTION_CHANNELS, generator=g)
    mask = torch.zeros(b, CAPTION_LEN, dtype=torch.int64)
    for i, n in enumerate(valid_tokens):
        mask[i, :n] = 1
    inputs = {
        "latent": latent,
        "encoder_hidden_states": ehs,
        "encoder_attention_mask": mask,
        "timestep": torch.tensor(timesteps, dtype=torch.int64),
    }
    if micro is not None:
        res, ar = micro
        inputs["added_cond_kwargs"] = {
            "resolution": torch.tensor(res, dtype=torch.float32),
            "aspect_ratio": torch.tensor(ar, dtype=torch.float32),
        }
    return inputs


def flat_inputs(inputs):
    out = {f"input.{k}": v for k, v in inputs.items() if k != "added_cond_kwargs"}
    for k, v in (inputs.get("added_cond_kwargs") or {}).items():
        out[f"input.{k}"] = v
    return out


def pos_tables():
    """Reference sin-cos tables at the real width (1152) for a few grids (SPEC §2.3, §11)."""
    cases = {
        # name: (h, w, base_size, interpolation_scale)
        "pos_table.h8w8.base32.interp1": (8, 8, 32, 1),
        "pos_table.h4w8.base64.interp2": (4, 8, 64, 2),
        "pos_table.h8w4.base64.interp2": (8, 4, 64, 2),
    }
    out = {}
    for name, (h, w, base, interp) in cases.items():
        t = get_2d_sincos_pos_embed(1152, (h, w), base_size=base, interpolation_scale=interp,
                                    output_type="pt")
        out[name] = t.float()
    return out


def make(model):
    """`model` is config A, the pipeline's transformer (saved with the pipeline); config B is
    built here and saved into pixart-ms-transformer/. Returns a summary dict."""
    summary = {}
    # --- A: square 8x8 latent, batch 2, timesteps 999 and 37
    inputs = make_inputs(SEED_A, (8, 8), valid_tokens=(9, 40), timesteps=(999, 37))
    acts = run(model, inputs)
    tensors = {**flat_inputs(inputs), **acts, **pos_tables()}
    path = save(tensors, OUT / "pixart_a_reference.safetensors", metadata(
        SEED_A, model="PixArtTransformer2DModel", weights="tiny-pixart/transformer",
        config=dict(model.config), description="config A (512-like) forward; hooks on pos_embed, "
        "adaln_single(.emb), caption_projection, transformer_blocks.i"))
    summary[path.name] = describe(tensors)

    # --- B: non-square 8x12 latent with micro-conditions, batch 2 (different conditions per row)
    model = build(CONFIG_B, SEED_B)
    folder = OUT / "pixart-ms-transformer"
    model.save_pretrained(folder)
    inputs = make_inputs(SEED_B, (8, 12), valid_tokens=(120, 17), timesteps=(500, 3),
                         micro=([[64.0, 96.0], [72.0, 100.0]], [[64 / 96], [72 / 100]]))
    acts = run(model, inputs)
    tensors = {**flat_inputs(inputs), **acts}
    path = save(tensors, OUT / "pixart_b_reference.safetensors", metadata(
        SEED_B, model="PixArtTransformer2DModel", weights="pixart-ms-transformer",
        config=dict(model.config), description="config B (1024-MS-like, micro-conditions, "
        "non-square latent) forward"))
    summary[path.name] = describe(tensors)
    return summary

