"""The PyTorch peer of examples/pretrain_gpt.ts: the same GPT-2, from the same initial weights,
trained on the same batches with the same AdamW, schedule and clipping, evaluated on the same
validation windows; prints both runs' validation losses side by side.

    npx tsx examples/pretrain_gpt.ts --peerCheck true      # writes checkpoints/tiny-gpt-peer/
    python3 bench/peers/pretrain_gpt.py checkpoints/tiny-gpt-peer

Reads from the directory NovaRL wrote: config.json (the example's config), init/ (a Hugging Face
directory with the initial model.safetensors, parsed with struct + numpy: transformers and
safetensors are not packaged for Debian), train_tokens.i32 / validation_tokens.i32 (the token
streams), batch_starts.i32 (steps x batch window starts, drawn by NovaRL's host Prng),
token_bytes.i32 (UTF-8 bytes per token id, for bits per byte) and novarl_validation.json (NovaRL's
validation losses, written at the end of its run). The model follows transformers'
modeling_gpt2.py: Conv1D weights (in, out), pre-layer-norm blocks, causal attention scaled by
1/sqrt(head_dim), gelu_new, tied output head. Float32, one thread, no dropout (NovaRL has none).
"""

import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2 import forward, read_safetensors  # noqa: E402  (bench/peers/gpt2.py)


def read_i32(path):
    return torch.from_numpy(np.fromfile(path, dtype="<i4").astype(np.int64))


def cosine_with_warmup(step, lr, min_lr, warmup, total):
    """sdk/core/lr_schedule.ts's cosineWithWarmup (nanoGPT's get_lr)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= total:
        return min_lr
    progress = (step - warmup) / (total - warmup)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def windows(tokens, starts, T):
    index = starts[:, None] + torch.arange(T)[None]
    return tokens[index], tokens[index + 1]


@torch.no_grad()
def validation(params, cfg, tokens, token_bytes, T, B, max_windows):
    """The example's validationLoss: consecutive windows, mean nats per token and bits per byte."""
    count = min(max_windows, (len(tokens) - 1) // T)
    nats, nbytes = 0.0, 0
    for w0 in range(0, count, B):
        rows = min(B, count - w0)
        x, y = windows(tokens, torch.arange(w0, w0 + rows) * T, T)
        _, logits = forward(params, cfg, x)
        nats += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        nbytes += int(token_bytes[y].sum())
    return nats / (count * T), nats / math.log(2) / nbytes, count


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "checkpoints/tiny-gpt-peer"
    with open(f"{root}/config.json") as f:
        c = json.load(f)
    with open(f"{root}/init/config.json") as f:
        cfg = json.load(f)
    torch.set_num_threads(1)
    stored, _ = read_safetensors(f"{root}/init/model.safetensors")
    params = {name: t.clone().requires_grad_(True) for name, t in stored.items()}
    train = read_i32(f"{root}/train_tokens.i32")
    val = read_i32(f"{root}/validation_tokens.i32")
    token_bytes = read_i32(f"{root}/token_bytes.i32")
    T, B, steps = c["blockSize"], c["batchSize"], c["steps"]
    starts = read_i32(f"{root}/batch_starts.i32").view(steps, B)

    # AdamW with two groups, as the example: decay on rank-2 tensors only
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": c["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=1e-8,
    )
    all_params = list(params.values())
    curve = [(0, *validation(params, cfg, val, token_bytes, T, B, c["evalWindows"]))]
    began = time.perf_counter()
    for step in range(steps):
        lr = cosine_with_warmup(step, c["lr"], c["minLr"], c["warmupSteps"], steps)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = windows(train, starts[step], T)
        _, logits = forward(params, cfg, x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(all_params, c["gradClip"])
        opt.step()
        if step + 1 == steps:
            curve.append((step + 1, *validation(params, cfg, val, token_bytes, T, B, 10**9)))
        elif c["evalEvery"] > 0 and (step + 1) % c["evalEvery"] == 0:
            curve.append((step + 1, *validation(params, cfg, val, token_bytes, T, B, c["evalWindows"])))
    seconds = time.perf_counter() - began

    try:
        with open(f"{root}/novarl_validation.json") as f:
            novarl = {v["step"]: v for v in json.load(f)["validation"]}
    except FileNotFoundError:
        novarl = {}
    print(f"torch {torch.__version__}, 1 thread: {steps} steps in {seconds:.1f} s, {steps * B * T / seconds:.0f} tokens/s (training incl. evaluations)")
    print(f"{'step':>6} {'windows':>8} {'torch loss':>11} {'NovaRL loss':>12} {'rel diff':>9} {'torch bpb':>10} {'NovaRL bpb':>11}")
    for step, loss, bpb, count in curve:
        n = novarl.get(step)
        rel = f"{(n['loss'] - loss) / loss:+.2%}" if n else "-"
        print(f"{step:>6} {count:>8} {loss:>11.4f} {n['loss'] if n else float('nan'):>12.4f} {rel:>9} {bpb:>10.4f} {n['bitsPerByte'] if n else float('nan'):>11.4f}")
    if novarl:
        final_step, final_loss = curve[-1][0], curve[-1][1]
        rel = abs(novarl[final_step]["loss"] - final_loss) / final_loss
        print(f"final validation loss: torch {final_loss:.4f}, NovaRL {novarl[final_step]['loss']:.4f}, relative difference {rel:.2%} (target < 2%)")
        sys.exit(0 if rel < 0.02 else 1)


if __name__ == "__main__":
    main()
