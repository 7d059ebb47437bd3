"""The oracle for tests/ppo_lm_torch.test.ts: the full PPO loss of LMPPOTrainer's minibatch (TRL's
PPOTrainer formulas, written out here in PyTorch) on GPT-2 in plain PyTorch (bench/peers/gpt2.py),
with its gradient for every parameter, in float64 (the reference) and float32 (for scale).

  logits  = forward(ids[:, :-1])[:, L-1 : L-1+R] / temperature        (B, R, V)
  logp    = log_softmax(logits).gather(response ids)                   (B, R)
  ratio   = exp(logp - old_logp)
  pg      = masked_mean(max(-A ratio, -A clamp(ratio, 1 - eps, 1 + eps)) * w, mask)
  vpred   = v_head(hidden) at the same positions
  vf      = 0.5 masked_mean(max((vpred - ret)^2, (clamp(vpred, v_old - c, v_old + c) - ret)^2), mask)
  ent     = masked_mean(entropy(logits), mask)
  kl      = masked_mean(k3(logp, ref_logp), mask),  k3 = exp(ref - logp) - 1 - (ref - logp)
  loss    = pg + vf_coef vf - ent_coef ent + beta kl

usage: ppo_lm_torch.py MODEL_DIR BATCH_JSON OUT_JSON
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "peers"))
from gpt2 import forward  # noqa: E402  (bench/peers/gpt2.py, the one GPT-2 in torch)
from peer_io import read_inputs, write_result  # noqa: E402


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum()


def run(stored, cfg, b, dtype):
    params = {name: t.to(dtype).clone().requires_grad_(True) for name, t in stored.items()}
    t = lambda key: torch.tensor(b[key], dtype=dtype)  # noqa: E731
    ids = torch.tensor(b["ids"], dtype=torch.long)
    attention = torch.tensor(b["attentionMask"], dtype=torch.long)
    response = torch.tensor(b["responseIds"], dtype=torch.long)
    mask, old, adv, ret, v_old, ref, engine = t("responseMask"), t("oldLogProbs"), t("advantages"), t("returns"), t("oldValues"), t("refLogProbs"), t("engineLogProbs")
    w = torch.clamp(torch.exp(old - engine), max=b["importanceSamplingCap"])  # truncated importance weights
    R = response.shape[1]
    L = ids.shape[1] - R
    inputs, keys = ids[:, :-1], attention[:, :-1]
    positions = torch.clamp(torch.cumsum(keys, dim=1) - 1, min=0)
    positions = torch.where(keys == 1, positions, torch.ones_like(positions))
    hidden, logits = forward(params, cfg, inputs, keys, positions)
    hidden, logits = hidden[:, L - 1 : L - 1 + R], logits[:, L - 1 : L - 1 + R] / b["temperature"]
    logsm = torch.log_softmax(logits, dim=-1)
    logp = logsm.gather(-1, response[..., None]).squeeze(-1)
    ratio = torch.exp(logp - old)
    eps = b["clipRange"]
    pg = masked_mean(torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - eps, 1 + eps)) * w, mask)
    vpred = (hidden @ params["v_head.summary.weight"].T + params["v_head.summary.bias"]).squeeze(-1)
    c = b["clipRangeValue"]
    vclipped = torch.clamp(vpred, v_old - c, v_old + c)
    vf = 0.5 * masked_mean(torch.max((vpred - ret) ** 2, (vclipped - ret) ** 2), mask)
    ent = masked_mean(-(torch.exp(logsm) * logsm).sum(-1), mask)
    logr = ref - logp
    kl = masked_mean(torch.exp(logr) - 1 - logr, mask)
    loss = pg + b["valueCoef"] * vf - b["entropyCoef"] * ent + b["beta"] * kl
    loss.backward()
    return {
        "policyLoss": pg.item(),
        "valueLoss": vf.item(),
        "klLoss": (b["beta"] * kl).item(),
        "entropy": ent.item(),
        "loss": loss.item(),
        "grads": {n: (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).tolist() for n, p in params.items()},
    }


def main():
    cfg, stored, _, batch, out_path = read_inputs()
    result = {"float64": run(stored, cfg, batch, torch.float64), "float32": run(stored, cfg, batch, torch.float32), "torch": torch.__version__}
    write_result(out_path, result)


if __name__ == "__main__":
    main()
