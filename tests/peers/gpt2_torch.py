"""The oracle for tests/gpt_torch.test.ts: GPT-2 in plain PyTorch (bench/peers/gpt2.py, the one
GPT-2 every Python peer of NovaRL's GPT uses).

Reads a Hugging Face model directory written by NovaRL and a JSON batch, and writes the logits,
the values of TRL's value head, the mean cross-entropy and the gradient of every parameter,
computed in float64 (the reference) and in float32 (PyTorch's own rounding, for scale).

usage: gpt2_torch.py MODEL_DIR BATCH_JSON OUT_JSON
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "peers"))
from gpt2 import forward  # noqa: E402  (bench/peers/gpt2.py, the one GPT-2 in torch)
from peer_io import read_inputs, write_result  # noqa: E402


def run(stored, cfg, batch, dtype):
    params = {name: t.to(dtype).clone().requires_grad_(True) for name, t in stored.items()}
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    mask = torch.tensor(batch["attentionMask"], dtype=torch.long)
    positions = torch.tensor(batch["positionIds"], dtype=torch.long)
    targets = torch.tensor(batch["targets"], dtype=torch.long)
    loss_mask = torch.tensor(batch["lossMask"], dtype=dtype)
    hidden, logits = forward(params, cfg, ids, mask, positions)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    loss = -(logp * loss_mask).sum() / loss_mask.sum()
    loss.backward()
    out = {
        "logits": logits.detach().reshape(-1).tolist(),
        "loss": loss.item(),
        "grads": {n: (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).tolist() for n, p in params.items() if not n.startswith("v_head.")},
    }
    if "v_head.summary.weight" in params:
        values = hidden @ params["v_head.summary.weight"].T + params["v_head.summary.bias"]
        out["values"] = values.detach().reshape(-1).tolist()
    return out


def main():
    cfg, stored, metadata, batch, out_path = read_inputs()
    result = {
        "metadata": metadata,
        "names": sorted(stored),
        "float64": run(stored, cfg, batch, torch.float64),
        "float32": run(stored, cfg, batch, torch.float32),
        "torch": torch.__version__,
    }
    write_result(out_path, result)


if __name__ == "__main__":
    main()
