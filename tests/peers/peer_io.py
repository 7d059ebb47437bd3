"""What the model-directory PyTorch peers (gpt2_torch.py, grpo_torch.py, ppo_lm_torch.py) share:
their command line MODEL_DIR BATCH_JSON OUT_JSON, reading a Hugging Face directory written by
NovaRL and the JSON batch, and writing the result. Import it after bench/peers is on sys.path."""

import json
import sys

import torch

from gpt2 import read_safetensors


def read_inputs():
    """-> (config.json, the stored tensors, the safetensors metadata, the batch, OUT_JSON's path); torch on one thread."""
    model_dir, batch_path, out_path = sys.argv[1:4]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    stored, metadata = read_safetensors(f"{model_dir}/model.safetensors")
    with open(batch_path) as f:
        batch = json.load(f)
    torch.set_num_threads(1)
    return cfg, stored, metadata, batch, out_path


def write_result(out_path, result):
    with open(out_path, "w") as f:
        json.dump(result, f)
