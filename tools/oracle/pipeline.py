"""End-to-end PixArtAlphaPipeline reference on the tiny pipeline folder."""

import torch
from diffusers import PixArtAlphaPipeline

from common import OUT, Recorder, describe, metadata, save

SEED = 606
PROMPT = "A red star on a striped blue background"  # the pipeline lowercases (clean_caption=False)
HEIGHT, WIDTH = 32, 48  # pixels; latent 8 x 12 with the tiny VAE's factor 4
STEPS, GUIDANCE = 4, 4.5


@torch.no_grad()
def make(folder):
    pipe = PixArtAlphaPipeline.from_pretrained(folder, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    pipe.text_encoder.config._attn_implementation = "eager"
    g = torch.Generator().manual_seed(SEED)
    latents = torch.randn(1, 4, HEIGHT // 4, WIDTH // 4, generator=g)

    embeds, mask, neg_embeds, neg_mask = pipe.encode_prompt(
        PROMPT, do_classifier_free_guidance=True, negative_prompt="", clean_caption=False,
        max_sequence_length=120, device=torch.device("cpu"))
    tok = pipe.tokenizer(PROMPT.lower().strip(), padding="max_length", max_length=120,
                         truncation=True, add_special_tokens=True, return_tensors="pt")
    neg_tok = pipe.tokenizer("", padding="max_length", max_length=120, truncation=True,
                             add_special_tokens=True, return_tensors="pt")

    steps = []
    rec = Recorder()
    outputs = []
    rec.add(pipe.transformer, "noise_pred", pick=lambda o: outputs.append(o[0].clone()) or o[0])

    def on_step(i, t, lat):
        steps.append((int(t), lat.clone()))

    final = pipe(
        PROMPT, negative_prompt="", num_inference_steps=STEPS, guidance_scale=GUIDANCE,
        height=HEIGHT, width=WIDTH, latents=latents.clone(), output_type="latent",
        clean_caption=False, use_resolution_binning=False, max_sequence_length=120,
        callback=on_step, callback_steps=1,
    ).images
    rec.remove()

    tensors = {
        "input.latents": latents,
        "prompt.input_ids": tok["input_ids"],
        "prompt.attention_mask": tok["attention_mask"],
        "negative.input_ids": neg_tok["input_ids"],
        "negative.attention_mask": neg_tok["attention_mask"],
        "prompt_embeds": embeds,  # [1, 120, 32]
        "prompt_attention_mask": mask,
        "negative_prompt_embeds": neg_embeds,
        "negative_prompt_attention_mask": neg_mask,
        "timesteps": torch.tensor([t for t, _ in steps], dtype=torch.int32),
        "step_latents": torch.stack([x for _, x in steps]),  # latents after each step
        "transformer_outputs": torch.stack(outputs),  # raw [uncond; cond] 8-channel outputs
        "final_latents": final,
    }
    path = save(tensors, OUT / "pipeline_reference.safetensors", metadata(
        SEED, pipeline="PixArtAlphaPipeline", folder="tiny-pixart", prompt=PROMPT,
        negative_prompt="", height=HEIGHT, width=WIDTH, num_inference_steps=STEPS,
        guidance_scale=GUIDANCE, clean_caption=False, use_resolution_binning=False,
        output_type="latent", description="final latents of a 4-step run from input.latents; "
        "prompt embeddings from encode_prompt"))
    return {path.name: describe(tensors)}
