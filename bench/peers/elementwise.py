#!/usr/bin/env python3
"""exp, tanh and GELU (tanh form) on 1M f32 elements in PyTorch eager on one thread: the peer of
bench/elementwise.ts.

Each op is out of place (a fresh output tensor per call, as NovaRL's ops make a scratch output).
The input is the same closed-form sequence bench/elementwise.ts builds,
x[i] = -5 + 10 * frac(i * 0.6180339887498949) computed in float64 and rounded to float32, so the
sums sum(x * y) of the outputs can be compared as a check of the work done (x * y >= 0 for all
three functions, so the sum does not cancel).

Usage: elementwise.py SAMPLE_MS SAMPLES WARMUP_MS; prints one JSON line
{"exp": {"wall_s": ..., "cpu_s": ..., "sum": ...}, "tanh": ..., "gelu": ...} with the medians
of the samples (seconds per call). Run with OMP_NUM_THREADS=1 (bench/elementwise.ts sets it).
"""

import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

N = 1 << 20


def inputs():
    i = torch.arange(N, dtype=torch.float64)
    frac = torch.remainder(i * 0.6180339887498949, 1.0)
    return (-5.0 + 10.0 * frac).to(torch.float32)


def measure(fn, sample_ms, samples, warmup_ms):
    start = time.perf_counter()
    calls = 0
    while (time.perf_counter() - start) * 1000 < warmup_ms or calls < 3:
        fn()
        calls += 1
    per_sample = max(1, int((sample_ms / 1000) / ((time.perf_counter() - start) / calls) + 0.999))
    walls, cpus = [], []
    for _ in range(samples):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_sample):
            fn()
        walls.append((time.perf_counter() - w0) / per_sample)
        cpus.append((time.process_time() - c0) / per_sample)
    return statistics.median(walls), statistics.median(cpus)


def main():
    sample_ms, samples, warmup_ms = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    x = inputs()
    ops = {
        'exp': lambda: torch.exp(x),
        'tanh': lambda: torch.tanh(x),
        'gelu': lambda: F.gelu(x, approximate='tanh'),
    }
    result = {}
    for name, fn in ops.items():
        wall, cpu = measure(fn, sample_ms, samples, warmup_ms)
        result[name] = {'wall_s': wall, 'cpu_s': cpu, 'sum': float((x.double() * fn().double()).sum())}
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
