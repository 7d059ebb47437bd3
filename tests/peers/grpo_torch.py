"""The oracle for tests/grpo_torch.test.ts: GRPO's and RLOO's losses as TRL writes them
(GRPOTrainer._compute_loss, RLOOTrainer._compute_loss), on GPT-2 in plain PyTorch
(bench/peers/gpt2.py), in float64. Reads a Hugging Face model directory written by NovaRL and a
JSON batch in the (B, L + R) layout; writes each case's loss and the gradient of every parameter.

usage: grpo_torch.py MODEL_DIR BATCH_JSON OUT_JSON
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "peers"))
from gpt2 import forward  # noqa: E402
from peer_io import read_inputs, write_result  # noqa: E402


def response_logps(params, cfg, batch, dtype):
    ids = torch.tensor(batch["ids"], dtype=torch.long)
    mask = torch.tensor(batch["attentionMask"], dtype=torch.long)
    response = torch.tensor(batch["responseIds"], dtype=torch.long)
    B, S = ids.shape
    R = response.shape[1]
    L = S - R
    inp, m = ids[:, : S - 1], mask[:, : S - 1]
    positions = torch.where(m == 1, m.cumsum(-1) - 1, torch.ones_like(m))  # transformers' position_ids
    _, logits = forward(params, cfg, inp, m, positions)
    logits = logits[:, L - 1 : L - 1 + R] / batch["temperature"]
    return torch.log_softmax(logits, dim=-1).gather(-1, response[..., None]).squeeze(-1)


def grpo_loss(logp, batch, case, dtype):
    t = lambda k: torch.tensor(batch[k], dtype=dtype)  # noqa: E731
    old, ref, mask, weights = t("oldLogp"), t("refLogp"), t("lossMask"), t("weights")
    adv = t("advantages").unsqueeze(1)
    coef_1 = torch.exp(logp - old)
    coef_2 = torch.clamp(coef_1, 1 - case["epsilonLow"], 1 + case["epsilonHigh"])
    per_token_loss = -torch.min(coef_1 * adv, coef_2 * adv)
    if case["weights"]:
        per_token_loss = per_token_loss * weights
    if case["beta"] != 0:
        per_token_loss = per_token_loss + case["beta"] * (torch.exp(ref - logp) - (ref - logp) - 1)
    lt = case["lossType"]
    if lt == "grpo":
        return ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if lt == "bnpo":
        return (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
    if lt == "dr_grpo":
        return (per_token_loss * mask).sum() / (per_token_loss.size(0) * case["maxCompletionLength"])
    if lt == "dapo":
        return (per_token_loss * mask).sum() / case["generationBatchTokens"]
    raise ValueError(lt)


def rloo_loss(logp, batch, case, dtype):
    t = lambda k: torch.tensor(batch[k], dtype=dtype)  # noqa: E731
    mask, adv = t("lossMask"), t("advantages")
    logps = (logp * mask).sum(1)
    old_logps = (t("oldLogp") * mask).sum(1)
    coef_1 = torch.exp(logps - old_logps)
    coef_2 = torch.clamp(coef_1, 1 - case["epsilonLow"], 1 + case["epsilonHigh"])
    return (-torch.min(coef_1 * adv, coef_2 * adv)).mean()


def main():
    cfg, stored, _, batch, out_path = read_inputs()
    dtype = torch.float64
    results = []
    for case in batch["cases"]:
        params = {n: t.to(dtype).clone().requires_grad_(True) for n, t in stored.items()}
        logp = response_logps(params, cfg, batch, dtype)
        loss = rloo_loss(logp, batch, case, dtype) if case["lossType"] == "rloo" else grpo_loss(logp, batch, case, dtype)
        loss.backward()
        grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).tolist() for n, p in params.items()}
        results.append({"loss": loss.item(), "grads": grads})
    write_result(out_path, {"results": results, "torch": torch.__version__})


if __name__ == "__main__":
    main()
