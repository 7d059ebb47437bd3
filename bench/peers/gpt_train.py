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
import math
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    header.pop("__metadata__", None)
    start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[start + begin : start + end], dtype="<f4").reshape(info["shape"]).copy())
    return tensors


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def loss_of(p, cfg, ids, targets):
    """Mean cross-entropy of targets (B, T) under the causal GPT-2 on ids (B, T)."""
    n_layer, H, C, eps = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["layer_norm_epsilon"]
    D = C // H
    B, T = ids.shape
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(n_layer):
        pre = f"transformer.h.{i}."
        h = F.layer_norm(x, (C,), p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], eps)
        q, k, v = (h @ p[pre + "attn.c_attn.weight"] + p[pre + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)  # (B, H, T, T)
        attn = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1) @ v
        attn = attn.transpose(1, 2).reshape(B, T, C)
        x = x + attn @ p[pre + "attn.c_proj.weight"] + p[pre + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], eps)
        x = x + gelu_new(h @ p[pre + "mlp.c_fc.weight"] + p[pre + "mlp.c_fc.bias"]) @ p[pre + "mlp.c_proj.weight"] + p[pre + "mlp.c_proj.bias"]
    hidden = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    logits = hidden @ p["transformer.wte.weight"].T  # (B, T, V), lm_head tied to wte
    return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))


def main():
    spec = json.loads(sys.stdin.readline())
    with open(spec["model_dir"] + "/config.json") as f:
        cfg = json.load(f)
    stored = read_safetensors(spec["model_dir"] + "/model.safetensors")
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
