// The text of `cli/edit.ts --help`.

import { DEMO_OUT, DEMO_STEPS } from "./_defaults.ts";
import { DEFAULT_STEPS } from "./_flags.ts";

/** Usage, flags and examples. */
export const HELP = `dit4edit edit: training-free image editing (DiT4Edit on PixArt-α, WebGPU)

Usage:
  deno run -A cli/edit.ts --image IN --source TEXT --target TEXT --out OUT [flags]
  deno run -A cli/edit.ts --batch EDITS.jsonl [--model DIR] [flags]
  deno run -A cli/edit.ts            the demo: edits the default image, writes ${DEMO_OUT}

Examples:
  deno run -A cli/edit.ts --image cat.jpg --source "a cat on a bench" \\
      --target "a dog on a bench" --out out/dog.png
  deno run -A cli/edit.ts --image cat.jpg --source "a cat" --target "a tiger" \\
      --out out/tiger.png --steps 20 --grid out/tiger_grid.png --attention-maps out/maps
  deno run -A cli/edit.ts --batch edits.jsonl --model models/PixArt-XL-2-512x512 --json
      where each line of edits.jsonl is one edit with the flags' names as keys:
      {"image": "cat.jpg", "source": "a cat", "target": "a dog", "out": "out/dog.png", "steps": 20}

Edit:
  -i, --image FILE        input image (PNG or JPEG)
      --source TEXT       what the image shows
      --target TEXT       what it should show
  -o, --out FILE          edited image (.png, .jpg or .jpeg); an existing file is replaced
                          atomically, an input file is never overwritten
      --model DIR         diffusers PixArt-α pipeline folder (default: the bundled model)
      --steps N           denoising steps, an integer from 1 to 1000 (default ${DEFAULT_STEPS};
                          the demo's ${DEMO_STEPS})
      --guidance W        classifier-free guidance of the target, ≥ 0 (default 4.5)
      --threshold K       steps in which the source's queries are used, 0..steps
                          (default ⌈0.2·steps⌉)
      --blocks A..B       transformer blocks with attention control, inclusive
                          (default the deeper half)
      --merge-ratio R     fraction of tokens merged, 0..0.75 (default 0.5 at ≥ 1024 tokens)
      --cross-replace F   fraction of steps with cross-attention replacement, 0..1 (default 0.8)
      --local-blend WORD  keep the edit only where this target word attends (Prompt-to-Prompt's
                          local blend); elsewhere the source's reconstruction is kept
      --no-control        no attention control
      --no-union          mutual self-attention over the source's keys and values alone, not
                          the source's and the target's own (MasaCtrl's Union variant, default)
      --no-guidance-correction
                          plain classifier-free guidance of the target; by default the
                          source's guidance term is subtracted, which keeps the colours and
                          brightness of what the prompts agree on
      --no-keep-background
                          keep the whole edited image; by default it is blended back into the
                          input where the words that differ between the prompts do not
                          attend, so the rest keeps the input's pixels (turn it off for global
                          edits such as style or lighting)
      --background-threshold F
                          centre of that mask's soft band, 0..1 (default 0.5): higher keeps
                          more of the input
      --inversion KIND    dpm++ (default) or ddim
      --seed N            seed for anything random (merge destinations)
      --size WxH          processing size (default the model's native area at the input's
                          aspect ratio)
      --max-pixels N      refuse larger input images (default 67108864)
      --prompt-cache DIR  keep encoded prompts here, so a prompt seen before skips the text
                          encoder (default $XDG_CACHE_HOME/dit4edit/prompts, else
                          ~/.cache/dit4edit/prompts)
      --no-prompt-cache   neither read nor write encoded prompts

Outputs:
      --grid FILE         input | reconstruction | edit | keep-background mask (when used),
                          side by side
      --attention-maps DIR
                          one cross-attention heat map per target word, over the edit
      --batch FILE.jsonl  many edits, one JSON object per line, with one loaded model; edit
                          flags on the command line are defaults for every line

Reporting:
      --json              one JSON object per edit on stdout (timings, adapter, options used,
                          outputs); nothing else is printed there
  -q, --quiet             no progress on stderr (warnings and errors are still printed)
  -v, --verbose           stack traces with errors
  -h, --help              this text

Exit codes: 0 success, 1 failure (a missing or bad file, no WebGPU adapter, ...), 2 usage error.
`;
