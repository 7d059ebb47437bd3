"""A small GPT-2 in plain PyTorch, the oracle for tests/gpt_torch.test.ts.

Reads a Hugging Face model directory written by NovaRL (config.json + model.safetensors, parsed
here with struct + numpy: transformers and safetensors are not packaged for Debian) and a JSON
batch, and writes the logits, the values of TRL's value head, the mean cross-entropy and the
gradient of every parameter, computed in float64 (the reference) and in float32 (PyTorch's own
rounding, for scale). The model follows transformers' modeling_gpt2.py: Conv1D weights (in, out),
pre-layer-norm blocks, attention scores divided by sqrt(head_dim), masked scores set to
float32's lowest value, gelu_new, tied output head.

usage: gpt2_torch.py MODEL_DIR BATCH_JSON OUT_JSON
"""

import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    metadata = header.pop("__metadata__", {})
    start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[start + begin : start + end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(params, cfg, ids, mask, positions):
    """Returns the last hidden state (B, T, C) and the logits (B, T, V)."""
    n_layer, n_head, n_embd, eps = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["layer_norm_epsilon"]
    head_dim = n_embd // n_head
    batch, length = ids.shape
    wte = params["transformer.wte.weight"]
    x = wte[ids] + params["transformer.wpe.weight"][positions]
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
    allowed = causal[None, None, :, :] & (mask[:, None, None, :] == 1)  # (B, 1, T, T)
    fill = torch.tensor(torch.finfo(torch.float32).min, dtype=x.dtype)

    def conv1d(h, prefix):  # transformers' Conv1D: y = x W + b, W (in, out)
        return h @ params[prefix + ".weight"] + params[prefix + ".bias"]

    def heads(t):  # (B, T, C) -> (B, H, T, D)
        return t.view(batch, length, n_head, head_dim).permute(0, 2, 1, 3)

    for i in range(n_layer):
        p = f"transformer.h.{i}."
        h = F.layer_norm(x, (n_embd,), params[p + "ln_1.weight"], params[p + "ln_1.bias"], eps)
        q, k, v = conv1d(h, p + "attn.c_attn").split(n_embd, dim=2)
        q, k, v = heads(q), heads(k), heads(v)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        weights = torch.softmax(torch.where(allowed, scores, fill), dim=-1)
        attn = (weights @ v).permute(0, 2, 1, 3).reshape(batch, length, n_embd)
        x = x + conv1d(attn, p + "attn.c_proj")
        h = F.layer_norm(x, (n_embd,), params[p + "ln_2.weight"], params[p + "ln_2.bias"], eps)
        x = x + conv1d(gelu_new(conv1d(h, p + "mlp.c_fc")), p + "mlp.c_proj")
    hidden = F.layer_norm(x, (n_embd,), params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps)
    return hidden, hidden @ wte.T  # lm_head tied to wte


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
    model_dir, batch_path, out_path = sys.argv[1:4]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    stored, metadata = read_safetensors(f"{model_dir}/model.safetensors")
    with open(batch_path) as f:
        batch = json.load(f)
    torch.set_num_threads(1)
    result = {
        "metadata": metadata,
        "names": sorted(stored),
        "float64": run(stored, cfg, batch, torch.float64),
        "float32": run(stored, cfg, batch, torch.float32),
        "torch": torch.__version__,
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
