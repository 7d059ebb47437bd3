#!/usr/bin/env python3
"""One GPT-2 training step (forward, backward, gradient clipping, AdamW) in PyTorch eager mode on
one thread: the peer of bench/gpt_train.ts.

The model is read from the model.safetensors NovaRL saved (GPT2LMHeadModel names, Conv1D
(in, out) weights, lm_head tied to wte) with struct + numpy. The step is what a hand-written
PyTorch training loop does: zero_grad, mean cross-entropy of the (B, T) targets, backward,
torch.nn.utils.clip_grad_norm_(1.0), torch.optim.AdamW over every parameter.

Usage: bench/gpt_train.ts writes one JSON object to stdin: {"model_dir", "ids", "targets" (both
(B, T) id rows), "lr", "weight_decay", "max_grad_norm", "warmup_ms", "samples"}; the script prints
one JSON line: the losses of the first two steps (from the saved weights, as a check that the
work is the same), the median wall and CPU seconds of one step, and the fastest
sample of each.
Run it with OMP_NUM_THREADS=1 (bench/gpt_train.ts sets it).
"""

import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2 import forward, read_safetensors  # noqa: E402  (bench/peers/gpt2.py)


def loss_of(params, cfg, ids, targets):
    """Mean cross-entropy of targets (B, T) under the causal GPT-2 on ids (B, T)."""
    _, logits = forward(params, cfg, ids)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    spec = json.loads(sys.stdin.readline())
    with open(spec["model_dir"] + "/config.json") as f:
        cfg = json.load(f)
    stored, _ = read_safetensors(spec["model_dir"] + "/model.safetensors")
    params = {name: torch.nn.Parameter(t) for name, t in stored.items() if not name.startswith("v_head.")}
    ids = torch.tensor(spec["ids"], dtype=torch.long)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    optimizer = torch.optim.AdamW(params.values(), lr=spec["lr"], weight_decay=spec["weight_decay"])

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss = loss_of(params, cfg, ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), spec["max_grad_norm"])
        optimizer.step()
        return loss.item()  # the host reads the loss every step, as a training loop logs it

    first_losses = [step(), step()]
    start, calls = time.perf_counter(), 0
    while (time.perf_counter() - start) * 1000 < spec["warmup_ms"] or calls < 2:
        step()
        calls += 1
    walls, cpus = [], []
    for _ in range(spec["samples"]):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    print(json.dumps({"first_losses": first_losses, "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "best_wall_s": min(walls), "best_cpu_s": min(cpus), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
