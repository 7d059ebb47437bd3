#!/usr/bin/env python3
"""Causal self-attention forward + backward in PyTorch eager mode on one thread: the peer of
bench/attention.ts.

The attention is the naive composition (torch 1.13 has no fused scaled_dot_product_attention):
scores = q k^T / sqrt(D), masked_fill of the future with -inf, softmax, @ v; the loss is
sum(out * w) and backward gives dq, dk, dv, as the NovaRL lanes do.

Usage: bench/attention.ts starts `attention.py --serve` (bench/peers/serving_peer.ts) and
writes one JSON object: {"b", "h", "t", "d", "q", "k", "v", "w" (flat lists), "warmup_ms"}; the
script answers with the loss and the sums of the three gradients from the first call (the check
that the work is the same) and its warmup's seconds per call, then times n calls for each n it
reads ({"wall_s", "cpu_s"} per call), until 0. Run it with OMP_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1 (bench/attention.ts sets both).
"""

import json
import math
import sys
import time

import torch

torch.set_num_threads(1)


def attention(q, k, v, causal, scale):
    scores = (q @ k.transpose(-2, -1)) * scale
    scores = scores.masked_fill(~causal, float("-inf"))
    return scores.softmax(dim=-1) @ v


def reply(obj):
    print(json.dumps(obj), flush=True)


def serve():
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
    reply({"loss": loss, "grad_sums": grad_sums, "warmup_s_per_call": (time.perf_counter() - start) / calls,
           "torch": torch.__version__})
    for line in sys.stdin:
        n = int(line)
        if n <= 0:
            break
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            step()
        reply({"wall_s": (time.perf_counter() - w0) / n, "cpu_s": (time.process_time() - c0) / n})


if __name__ == "__main__":
    serve()
