"""GPT-2 in plain PyTorch, shared by every Python peer of NovaRL's GPT: the oracle of
tests/gpt_torch.test.ts (tests/peers/gpt2_torch.py) and the benchmark peers
(bench/peers/gpt_train.py, pretrain_gpt.py, generate.py).

It reads a Hugging Face model directory that NovaRL wrote (model.safetensors parsed with struct +
numpy: transformers and safetensors are not packaged for Debian) and follows transformers'
modeling_gpt2.py: Conv1D weights (in, out), pre-layer-norm blocks, attention scores divided by
sqrt(head_dim), masked scores set to float32's lowest value, gelu_new, output head tied to wte.
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    """name -> float32 tensor, and the file's __metadata__ ({} when absent)."""
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


def forward(params, cfg, ids, mask=None, positions=None):
    """ids (B, T), optional key mask (B, T) of 0/1 and positions (B, T) -> the last hidden state
    (B, T, C) and the logits (B, T, V)."""
    n_layer, n_head, n_embd, eps = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["layer_norm_epsilon"]
    head_dim = n_embd // n_head
    batch, length = ids.shape
    wte = params["transformer.wte.weight"]
    if positions is None:
        positions = torch.arange(length)[None]
    x = wte[ids] + params["transformer.wpe.weight"][positions]
    allowed = torch.tril(torch.ones(length, length, dtype=torch.bool))[None, None]  # (1, 1, T, T)
    if mask is not None:
        allowed = allowed & (mask[:, None, None, :] == 1)  # (B, 1, T, T)
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
