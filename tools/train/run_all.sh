#!/usr/bin/env bash
# Reproduces models/pixart-scenes-64 from scratch (CPU, one thread per stage; hours).
# Stages 1-3 take minutes to ~1.5 h; stage 4 runs until stopped or --max-steps (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
mkdir -p ckpt
$PY stage1_tokenizer.py
$PY stage2_text_encoder.py
$PY stage3_vae.py
$PY stage4_dit.py --max-steps "${DIT_STEPS:-20000}"
$PY export.py
$PY sample.py
$PY plot.py
