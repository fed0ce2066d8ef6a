"""AutoencoderKL fixtures: tiny 3-level VAE (factor 4), block-boundary activations, tiled runs."""

import torch
from diffusers import AutoencoderKL

from common import OUT, Recorder, describe, metadata, randomize_, save

# Three levels (factor 4) so both the down/upsamplers and the level without them are covered;
# layers_per_block 2 like SD's VAE (decoder blocks get 3 resnets); 8 -> 16 channels exercises
# conv_shortcut in encoder.down_blocks.1 and decoder.up_blocks.2; 4 groups of 2 or 4 channels.
CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4,
    down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
    block_out_channels=[8, 16, 16], layers_per_block=2, norm_num_groups=4, act_fn="silu",
    sample_size=32, scaling_factor=0.18215,
)
SEED = 303

# diffusers 0.42 AutoencoderKL attributes (models/autoencoders/autoencoder_kl.py): tiling kicks in
# when the image side > tile_sample_min_size (encode) or the latent side > tile_latent_min_size
# (decode); tiles step by int(tile * (1 - overlap)) and blend int(other_tile * overlap) rows/cols.
TILING = dict(tile_sample_min_size=32, tile_latent_min_size=8, tile_overlap_factor=0.25)


def build():
    torch.manual_seed(SEED)
    vae = AutoencoderKL(**CONFIG).eval()
    randomize_(vae, SEED)
    return vae


def hooks(vae):
    rec = Recorder()
    enc, dec = vae.encoder, vae.decoder
    rec.add(enc.conv_in, "encoder.conv_in")
    for i, b in enumerate(enc.down_blocks):
        rec.add(b, f"encoder.down_blocks.{i}")
    rec.add(enc.mid_block.attentions[0], "encoder.mid_block.attentions.0")
    rec.add(enc.mid_block, "encoder.mid_block")
    rec.add(enc.conv_out, "encoder.conv_out")
    rec.add(vae.quant_conv, "quant_conv")
    rec.add(vae.post_quant_conv, "post_quant_conv")
    rec.add(dec.conv_in, "decoder.conv_in")
    rec.add(dec.mid_block.attentions[0], "decoder.mid_block.attentions.0")
    rec.add(dec.mid_block, "decoder.mid_block")
    for i, b in enumerate(dec.up_blocks):
        rec.add(b, f"decoder.up_blocks.{i}")
    return rec


@torch.no_grad()
def make(vae):
    """`vae` is the pipeline's VAE (saved with the pipeline)."""
    g = torch.Generator().manual_seed(SEED + 1)
    image = torch.rand(2, 3, 32, 24, generator=g) * 2 - 1  # [B,3,H,W] in [-1,1], H != W
    z = torch.randn(2, 4, 8, 6, generator=g)  # latents to decode (unscaled: decode(z))

    rec = hooks(vae)
    post = vae.encode(image).latent_dist
    enc_acts = {f"enc.{k}": v for k, v in rec.out.items() if not k.startswith(("decoder", "post"))}
    rec.out.clear()
    decoded = vae.decode(z).sample
    dec_acts = {f"dec.{k}": v for k, v in rec.out.items() if k.startswith(("decoder", "post"))}
    rec.remove()

    big = torch.rand(1, 3, 56, 40, generator=g) * 2 - 1  # larger than a 32 px tile
    zbig = torch.randn(1, 4, 14, 10, generator=g)  # larger than an 8-latent tile
    untiled_mean = vae.encode(big).latent_dist.mean
    untiled_dec = vae.decode(zbig).sample
    vae.enable_tiling()
    for k, v in TILING.items():
        setattr(vae, k, v)
    tiled_mean = vae.encode(big).latent_dist.mean
    tiled_dec = vae.decode(zbig).sample
    vae.disable_tiling()

    tensors = {
        "input.image": image,
        "input.latents": z,
        "encode.moments": post.parameters,  # quant_conv output [B, 8, h, w]: mean ++ logvar
        "encode.mean": post.mean,
        "encode.logvar": post.logvar,  # clamped to [-30, 20]
        "decode.sample": decoded,
        **enc_acts,
        **dec_acts,
        "tiled.input.image": big,
        "tiled.input.latents": zbig,
        "tiled.encode.mean": tiled_mean,
        "untiled.encode.mean": untiled_mean,
        "tiled.decode.sample": tiled_dec,
        "untiled.decode.sample": untiled_dec,
    }
    path = save(tensors, OUT / "vae_reference.safetensors", metadata(
        SEED, model="AutoencoderKL", weights="tiny-pixart/vae", config=dict(vae.config),
        tiling=TILING, description="encode (posterior mean) and decode with block-boundary "
        "hooks; tiled vs untiled encode/decode via enable_tiling() with the tiling attributes"))
    return {path.name: describe(tensors)}
