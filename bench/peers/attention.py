#!/usr/bin/env python3
"""Causal self-attention forward + backward in PyTorch eager mode on one thread: the peer of
bench/attention.ts.

The attention is the naive composition (torch 1.13 has no fused scaled_dot_product_attention):
scores = q k^T / sqrt(D), masked_fill of the future with -inf, softmax, @ v; the loss is
sum(out * w) and backward gives dq, dk, dv, as the NovaRL lanes do.

Usage: bench/attention.ts writes one JSON object to stdin: {"b", "h", "t", "d", "q", "k", "v",
"w" (flat lists), "warmup_ms", "sample_ms", "samples"}; the script prints one JSON line with the
median wall and CPU seconds per forward + backward and, as a check that the work is the same,
the loss and the sums of the three gradients from the first call.
Run it with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (bench/attention.ts sets both).
"""

import json
import math
import statistics
import sys
import time

import torch

torch.set_num_threads(1)


def attention(q, k, v, causal, scale):
    scores = (q @ k.transpose(-2, -1)) * scale
    scores = scores.masked_fill(~causal, float("-inf"))
    return scores.softmax(dim=-1) @ v


def main():
    spec = json.loads(sys.stdin.readline())
    b, h, t, d = spec["b"], spec["h"], spec["t"], spec["d"]
    shape = (b, h, t, d)
    q = torch.tensor(spec["q"], dtype=torch.float32).reshape(shape).requires_grad_()
    k = torch.tensor(spec["k"], dtype=torch.float32).reshape(shape).requires_grad_()
    v = torch.tensor(spec["v"], dtype=torch.float32).reshape(shape).requires_grad_()
    w = torch.tensor(spec["w"], dtype=torch.float32).reshape(shape)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    scale = 1 / math.sqrt(d)

    def step():
        for x in (q, k, v):
            x.grad = None
        loss = (attention(q, k, v, causal, scale) * w).sum()
        loss.backward()
        return loss

    loss = step().item()
    grad_sums = [x.grad.sum().item() for x in (q, k, v)]

    start = time.perf_counter()
    calls = 0
    while (time.perf_counter() - start) * 1000 < spec["warmup_ms"] or calls < 3:
        step()
        calls += 1
    per_sample = max(1, math.ceil(spec["sample_ms"] / ((time.perf_counter() - start) * 1000 / calls)))
    walls, cpus = [], []
    for _ in range(spec["samples"]):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_sample):
            step()
        walls.append((time.perf_counter() - w0) / per_sample)
        cpus.append((time.process_time() - c0) / per_sample)
    print(json.dumps({
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "loss": loss,
        "grad_sums": grad_sums,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
