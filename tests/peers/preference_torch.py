"""The oracle for tests/preference_torch.test.ts: the DPO losses and the Bradley-Terry reward
model in plain PyTorch, over model directories NovaRL saved, with GPT-2 from bench/peers/gpt2.py.

mode "dpo": policy and reference directories (GPT2LMHeadModel layout) and a (2B, L + R) pair
batch (chosen rows, then rejected; left-padded prompts, right-padded responses). Per-sequence
completion log-probs (sum; mean for IPO, as TRL), the loss for the loss type, and the gradient of
every policy parameter.

mode "rm": a GPT2ForSequenceClassification directory and right-padded rows (chosen, then
rejected). Rewards read at transformers' last non-padding token, the Bradley-Terry loss with
the centring term, and every parameter's gradient.

Both in float64 (the reference) and float32. usage: preference_torch.py BATCH_JSON OUT_JSON
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "peers"))
from gpt2 import forward, read_safetensors  # noqa: E402


def load(model_dir):
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    stored, _ = read_safetensors(f"{model_dir}/model.safetensors")
    return cfg, stored


def sequence_logps(params, cfg, batch, average):
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    mask = torch.tensor(batch["attentionMask"], dtype=torch.long)
    positions = torch.tensor(batch["positionIds"], dtype=torch.long)
    response = torch.tensor(batch["responseIds"], dtype=torch.long)
    response_mask = torch.tensor(batch["responseMask"], dtype=params["transformer.wte.weight"].dtype)
    S, R = ids.shape[1], response.shape[1]
    L = S - R
    _, logits = forward(params, cfg, ids[:, : S - 1], mask[:, : S - 1], positions[:, : S - 1])
    logits = logits[:, L - 1 : L - 1 + R]  # the positions that predict each response token
    logp = torch.log_softmax(logits, dim=-1).gather(-1, response[..., None]).squeeze(-1)
    out = (logp * response_mask).sum(-1)
    return out / response_mask.sum(-1) if average else out


def dpo(batch, dtype):
    cfg, stored = load(batch["policyDir"])
    _, ref_stored = load(batch["referenceDir"])
    params = {n: t.to(dtype).clone().requires_grad_(True) for n, t in stored.items()}
    ref = {n: t.to(dtype) for n, t in ref_stored.items()}
    loss_type, beta, ls = batch["lossType"], batch["beta"], batch["labelSmoothing"]
    average = loss_type == "ipo"
    logps = sequence_logps(params, cfg, batch, average)
    with torch.no_grad():
        ref_logps = sequence_logps(ref, cfg, batch, average)
    B = logps.shape[0] // 2
    h = (logps[:B] - logps[B:]) - (ref_logps[:B] - ref_logps[B:])
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * h) * (1 - ls) - F.logsigmoid(-beta * h) * ls
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * h)
    else:
        losses = (h - 1 / (2 * beta)) ** 2
    loss = losses.mean()
    loss.backward()
    return {
        "loss": loss.item(),
        "logps": logps.detach().tolist(),
        "refLogps": ref_logps.tolist(),
        "grads": {n: p.grad.reshape(-1).tolist() for n, p in params.items()},
    }


def rm(batch, dtype):
    cfg, stored = load(batch["modelDir"])
    params = {n: t.to(dtype).clone().requires_grad_(True) for n, t in stored.items()}
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    mask = torch.tensor(batch["attentionMask"], dtype=torch.long)
    hidden, _ = forward(params, cfg, ids, mask)  # positions 0..T-1, as transformers without position_ids
    per_token = (hidden @ params["score.weight"].T).squeeze(-1)  # (2B, T)
    # transformers' GPT2ForSequenceClassification: the rightmost token that is not pad_token_id
    non_pad = (ids != cfg["pad_token_id"]).int()
    last = (torch.arange(ids.shape[1]) * non_pad).argmax(-1)
    rewards = per_token[torch.arange(ids.shape[0]), last]
    B = rewards.shape[0] // 2
    chosen, rejected = rewards[:B], rewards[B:]
    loss = -F.logsigmoid(chosen - rejected).mean() + batch["center"] * torch.mean((chosen + rejected) ** 2)
    loss.backward()
    return {
        "loss": loss.item(),
        "rewards": rewards.detach().tolist(),
        "last": last.tolist(),
        "grads": {n: p.grad.reshape(-1).tolist() for n, p in params.items()},
    }


def main():
    batch_path, out_path = sys.argv[1:3]
    with open(batch_path) as f:
        batch = json.load(f)
    torch.set_num_threads(1)
    run = dpo if batch["mode"] == "dpo" else rm
    with open(out_path, "w") as f:
        json.dump({"float64": run(batch, torch.float64), "float32": run(batch, torch.float32)}, f)


if __name__ == "__main__":
    main()
