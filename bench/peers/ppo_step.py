#!/usr/bin/env python3
"""One PPO update in PyTorch eager mode on one thread: the peer of bench/ppo_step.ts.

The update is CleanRL's ppo.py optimisation phase, as NovaRL's PPOTrainer.learn() does it:
separate actor and critic MLPs (16 -> H -> H, tanh) with a 4-logit policy head and a value
head; per epoch a torch.randperm of the rows, cut into minibatches; per minibatch: index the
rows, whiten the advantages, clipped surrogate, clipped value loss, entropy bonus, backward,
nn.utils.clip_grad_norm_, torch.optim.Adam(eps=1e-5), and the loss and statistics read back
with one .tolist() (CleanRL reads them with .item()).

With klCoef > 0 a frozen reference actor (a deep copy of the initial actor trunk and policy
head) runs forward on every minibatch under torch.no_grad(), and the loss gains the k1 KL term
klCoef * mean(logp - logp_ref) of the taken actions (its value read back with the statistics).

Usage: bench/ppo_step.ts starts `ppo_step.py --serve` and sends it the same initial weights and
rollout as NovaRL's (see serve()), then asks for timed samples in turn with its own, so both
see the same load on a shared machine. Run without arguments it uses random weights and a
random rollout of the small case's shapes and prints one JSON line with the median of 15
updates (`--kl` adds the KL term).
Run it with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (bench/ppo_step.ts sets both).
"""

import copy
import json
import statistics
import sys
import time

import torch
from torch import nn

torch.set_num_threads(1)


class Trunk(nn.Module):
    """Linear layers, tanh after each (ActorCritic.features in NovaRL applies the last one)."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x


class Head(nn.Module):
    def __init__(self, features, outputs):
        super().__init__()
        self.linear = nn.Linear(features, outputs)

    def forward(self, h):
        return self.linear(h)


class ActorCritic(nn.Module):
    """Parameter names match NovaRL's ActorCritic state dict ('actorTrunk.layers.0.weight', ...)."""

    def __init__(self, obs, hidden, actions):
        super().__init__()
        self.actorTrunk = Trunk([obs, hidden, hidden])
        self.criticTrunk = Trunk([obs, hidden, hidden])
        self.policyHead = Head(hidden, actions)
        self.valueHead = Head(hidden, 1)

    def logits(self, obs):
        return self.policyHead(self.actorTrunk(obs))

    def forward(self, obs):
        logits = self.logits(obs)
        values = self.valueHead(self.criticTrunk(obs)).view(-1)
        return logits, values


class ReferenceActor(nn.Module):
    """A frozen copy of an ActorCritic's actor trunk and policy head."""

    def __init__(self, agent):
        super().__init__()
        self.actorTrunk = copy.deepcopy(agent.actorTrunk)
        self.policyHead = copy.deepcopy(agent.policyHead)
        self.requires_grad_(False)

    def forward(self, obs):
        return self.policyHead(self.actorTrunk(obs))


def random_spec(kl_coef=0.0):
    """Random weights (nn.Linear's init) and a random rollout of the benchmark's shapes."""
    torch.manual_seed(0)
    config = dict(rows=512, minibatchSize=128, observationSize=16, actionCount=4, hidden=64, epochs=4,
                  learningRate=2.5e-4, adamEps=1e-5, clipRange=0.2, valueClip=0.2, entropyCoef=0.01,
                  valueCoef=0.5, maxGradNorm=0.5, klCoef=kl_coef)
    rows, actions = config['rows'], config['actionCount']
    batch = dict(
        obs=(torch.rand(rows * config['observationSize']) * 2 - 1).tolist(),
        actions=torch.randint(0, actions, (rows,)).float().tolist(),
        logProbs=(torch.full((rows,), -1.386) + 0.01 * torch.randn(rows)).tolist(),
        advantages=torch.randn(rows).tolist(),
        returns=torch.rand(rows).tolist(),
        values=(0.1 * torch.randn(rows)).tolist(),
    )
    return dict(config=config, weights=None, batch=batch)


def make_update(spec):
    c = spec['config']
    rows, mb = c['rows'], c['minibatchSize']
    agent = ActorCritic(c['observationSize'], c['hidden'], c['actionCount'])
    if spec['weights'] is not None:
        state = agent.state_dict()
        agent.load_state_dict({k: torch.tensor(spec['weights'][k], dtype=torch.float32).view_as(v) for k, v in state.items()})
    kl_coef = c.get('klCoef', 0.0)
    reference = ReferenceActor(agent) if kl_coef > 0 else None  # a copy of the initial actor
    optimizer = torch.optim.Adam(agent.parameters(), lr=c['learningRate'], eps=c['adamEps'])
    batch = spec['batch']
    b_obs = torch.tensor(batch['obs'], dtype=torch.float32).view(rows, c['observationSize'])
    b_actions = torch.tensor(batch['actions'], dtype=torch.float32).long()
    b_logprobs = torch.tensor(batch['logProbs'], dtype=torch.float32)
    b_advantages = torch.tensor(batch['advantages'], dtype=torch.float32)
    b_returns = torch.tensor(batch['returns'], dtype=torch.float32)
    b_values = torch.tensor(batch['values'], dtype=torch.float32)
    clip, vclip = c['clipRange'], c['valueClip']

    def update(shuffle=True):
        """One update; returns its mean value loss and mean KL term (the same-work check)."""
        value_loss_sum = kl_term_sum = 0.0
        for _ in range(c['epochs']):
            b_inds = torch.randperm(rows) if shuffle else torch.arange(rows)
            for start in range(0, rows, mb):
                mb_inds = b_inds[start:start + mb]
                mb_obs, mb_actions = b_obs[mb_inds], b_actions[mb_inds].unsqueeze(1)
                logits, newvalue = agent(mb_obs)
                logp_all = torch.log_softmax(logits, dim=-1)
                newlogprob = logp_all.gather(1, mb_actions).squeeze(1)
                entropy = -(logp_all.exp() * logp_all).sum(-1)
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                pg_loss = torch.max(-mb_advantages * ratio, -mb_advantages * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()
                mb_returns, mb_values = b_returns[mb_inds], b_values[mb_inds]
                v_loss_unclipped = (newvalue - mb_returns) ** 2
                v_clipped = mb_values + torch.clamp(newvalue - mb_values, -vclip, vclip)
                v_loss = 0.5 * torch.max(v_loss_unclipped, (v_clipped - mb_returns) ** 2).mean()
                loss = pg_loss - c['entropyCoef'] * entropy.mean() + c['valueCoef'] * v_loss
                if reference is not None:  # k1 KL to the frozen reference, its forward per minibatch
                    with torch.no_grad():
                        ref_logprob = torch.log_softmax(reference(mb_obs), dim=-1).gather(1, mb_actions).squeeze(1)
                    kl_term = kl_coef * (newlogprob - ref_logprob).mean()
                    loss = loss + kl_term
                else:
                    kl_term = torch.zeros(())

                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), c['maxGradNorm'])
                optimizer.step()

                with torch.no_grad():  # CleanRL's statistics, read back once per minibatch
                    stats = torch.stack([
                        loss, grad_norm, pg_loss, v_loss, kl_term, (mb_advantages * ratio).mean(),
                        ((ratio - 1).abs() > clip).float().mean(), ((ratio - 1) - logratio).mean(), (-logratio).mean(),
                    ]).tolist()
                if stats[0] != stats[0] or abs(stats[0]) == float('inf'):
                    raise FloatingPointError(f'PPO loss is {stats[0]}')
                value_loss_sum += stats[3]
                kl_term_sum += stats[4]
        n = c['epochs'] * rows // mb
        return value_loss_sum / n, kl_term_sum / n

    return update


def warmup(update, seconds, min_calls=3):
    """Runs updates for about `seconds` (at least min_calls); returns the seconds per update (None if none ran)."""
    t0 = time.perf_counter()
    count = 0
    while time.perf_counter() - t0 < seconds or count < min_calls:
        update()
        count += 1
    return (time.perf_counter() - t0) / count if count else None


def timed(update, n):
    """Seconds per update over n updates, by the wall clock and by this process's CPU time."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(n):
        update()
    return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n


def reply(obj):
    print(json.dumps(obj), flush=True)


def serve():
    """bench/ppo_step.ts's protocol, one JSON object or integer per line.

    in:  {"config", "weights", "batch", "warmupMs", "minWarmupCalls", "firstInOrder"}
    out: {"ready", "first_update_value_loss", "first_update_kl_term", "warmup_s_per_update", ...}
    in:  n (updates in one sample; 0 ends)
    out: {"wall_s": per update, "cpu_s": per update}
    """
    spec = json.loads(sys.stdin.readline())
    update = make_update(spec)
    t0 = time.perf_counter()
    first_value_loss, first_kl_term = update(shuffle=not spec.get('firstInOrder', False))
    first_s = time.perf_counter() - t0
    per_update = warmup(update, spec['warmupMs'] / 1000, spec.get('minWarmupCalls', 3)) or first_s
    reply({'ready': True, 'first_update_value_loss': first_value_loss, 'first_update_kl_term': first_kl_term,
           'warmup_s_per_update': per_update,
           'torch': torch.__version__, 'threads': torch.get_num_threads()})
    for line in sys.stdin:
        n = int(line)
        if n <= 0:
            break
        wall, cpu = timed(update, n)
        reply({'wall_s': wall, 'cpu_s': cpu})


def standalone():
    """Random weights and rollout; the median of 15 single-update samples."""
    update = make_update(random_spec(0.1 if '--kl' in sys.argv else 0.0))
    warmup(update, 0.3)
    samples = [timed(update, 1) for _ in range(15)]
    reply({
        'ms_per_update': statistics.median(w for w, _ in samples) * 1000,
        'cpu_ms_per_update': statistics.median(c for _, c in samples) * 1000,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
    })


if __name__ == '__main__':
    if '--serve' in sys.argv:
        serve()
    else:
        standalone()
