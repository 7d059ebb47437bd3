#!/usr/bin/env python3
"""GPT-2 generation with a KV cache in PyTorch eager mode on one thread: the peer of
bench/generate.ts.

The model is read from the model.safetensors NovaRL saved (GPT2LMHeadModel names, Conv1D
(in, out) weights, lm_head tied to wte). Generation is what a hand-written PyTorch sampler
does: one pass over the prompts fills a preallocated (B, H, Tmax, D) cache per layer, then each
step feeds the batch's last tokens, writes their keys and values at the next position and
attends over the cache so far; sampling is softmax(logits / temperature) + multinomial; all
under torch.no_grad().

Usage: bench/generate.ts writes one JSON object to stdin: {"model_dir", "prompts" (one list of
(B, L) id rows per case), "new_tokens", "temperature", "warmup_ms", "samples"}; the script
prints one JSON line: per case the median wall and CPU seconds of one generate call and, as a
check that the work is the same, the greedy completion of the case's first row.
Run it with OMP_NUM_THREADS=1 (bench/generate.ts sets it).
"""

import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2 import gelu_new, read_safetensors  # noqa: E402  (bench/peers/gpt2.py)


class CachedGPT2:
    def __init__(self, params, cfg):
        self.p = params
        self.n_layer, self.n_head, self.n_embd = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.eps = cfg["layer_norm_epsilon"]

    def step(self, ids, start, cache):
        """ids (B, T) at positions start..start+T-1 -> last-position logits (B, V); fills cache."""
        p, C, H = self.p, self.n_embd, self.n_head
        D = C // H
        B, T = ids.shape
        end = start + T
        x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][start:end]
        causal = torch.ones(T, end, dtype=torch.bool).tril(diagonal=start)  # query i sees keys <= start + i
        for i in range(self.n_layer):
            pre = f"transformer.h.{i}."
            h = F.layer_norm(x, (C,), p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], self.eps)
            q, k, v = (h @ p[pre + "attn.c_attn.weight"] + p[pre + "attn.c_attn.bias"]).split(C, dim=2)
            q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
            keys, values = cache[i]
            keys[:, :, start:end] = k
            values[:, :, start:end] = v
            scores = (q @ keys[:, :, :end].transpose(-1, -2)) / math.sqrt(D)
            attn = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1) @ values[:, :, :end]
            attn = attn.transpose(1, 2).reshape(B, T, C)
            x = x + attn @ p[pre + "attn.c_proj.weight"] + p[pre + "attn.c_proj.bias"]
            h = F.layer_norm(x, (C,), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], self.eps)
            x = x + gelu_new(h @ p[pre + "mlp.c_fc.weight"] + p[pre + "mlp.c_fc.bias"]) @ p[pre + "mlp.c_proj.weight"] + p[pre + "mlp.c_proj.bias"]
        last = F.layer_norm(x[:, -1], (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], self.eps)
        return last @ p["transformer.wte.weight"].T

    @torch.no_grad()
    def generate(self, prompts, new_tokens, temperature):
        B, L = prompts.shape
        D = self.n_embd // self.n_head
        cache = [(torch.zeros(B, self.n_head, L + new_tokens, D), torch.zeros(B, self.n_head, L + new_tokens, D)) for _ in range(self.n_layer)]
        logits = self.step(prompts, 0, cache)
        out = []
        for n in range(new_tokens):
            if temperature == 0:
                ids = logits.argmax(dim=-1)
            else:
                ids = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1)[:, 0]
            out.append(ids)
            if n == new_tokens - 1:
                break
            logits = self.step(ids[:, None], L + n, cache)
        return torch.stack(out, dim=1)


def main():
    spec = json.loads(sys.stdin.readline())
    with open(spec["model_dir"] + "/config.json") as f:
        cfg = json.load(f)
    model = CachedGPT2(read_safetensors(spec["model_dir"] + "/model.safetensors")[0], cfg)
    torch.manual_seed(0)
    cases = []
    for rows in spec["prompts"]:
        prompts = torch.tensor(rows, dtype=torch.long)
        greedy = model.generate(prompts[:1], spec["new_tokens"], 0.0)[0].tolist()
        run = lambda: model.generate(prompts, spec["new_tokens"], spec["temperature"])
        start, calls = time.perf_counter(), 0
        while (time.perf_counter() - start) * 1000 < spec["warmup_ms"] or calls < 1:
            run()
            calls += 1
        walls, cpus = [], []
        for _ in range(spec["samples"]):
            w0, c0 = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        cases.append({"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "greedy": greedy})
    print(json.dumps({"cases": cases, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
