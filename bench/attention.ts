// Causal self-attention, forward + backward, at (B 8, H 4, T 128, D 32), no past, no key mask:
//   novarl            causalSelfAttention: the fused core op (assembly/ops/attention.ts)
//   novarl-composed   causalSelfAttentionReference: matmul, mul, where, softmax, matmul
//   pytorch-eager-1t  the same naive composition in PyTorch 1.13 on one thread, a child process
//                     (bench/peers/attention.py; skipped with a printed line without torch)
// Each call: out = attention(q, k, v), loss = sum(out * w), backward (dq, dk, dv), gradients
// reset, step ended. All start from the same q, k, v, w; the loss and gradient sums of the
// first call are compared with NovaRL's as a check that the work is the same.
//
// "GFLOP/s" counts the four (T, S, D) products of the full score matrix, 2 T S D each, forward
// (q k^T, p v) and twice that backward (dv, dp, dq, dk): 12 B H T S D = 201 MFLOP per call,
// though the causal half is masked. ratio = peer seconds / NovaRL seconds; notes give ms per
// call and CPU-time figures. All three are sampled in rounds, one sample of each per round (the
// PyTorch child stays up and times each sample itself: bench/peers/serving_peer.ts), so that a
// change of the shared machine's speed hits them alike; the figures are medians over the rounds.

import { fileURLToPath } from 'node:url';
import { Tensor, causalSelfAttention, causalSelfAttentionReference, init, type Core } from '../sdk/index';
import { gflops, randomMatrix, round, timingFor, type BenchOptions, type BenchRow } from './util';
import { ServingPeer } from './peers/serving_peer';
import { callsFor, medianOf, sampleInRounds, syncLane, type Lane, type WallAndCpu } from './lanes';

const B = 8, H = 4, T = 128, D = 32;
const SHAPE = [B, H, T, D];
const SIZE = `B${B}-H${H}-T${T}-D${D}-fwd+bwd`;
const FLOPS = 12 * B * H * T * T * D;
const PEER_SCRIPT = fileURLToPath(new URL('./peers/attention.py', import.meta.url));

/** attention.py's reply to the spec: the first call's results (the check) and its warmup's speed. */
interface PeerReady {
  loss: number;
  grad_sums: number[];
  warmup_s_per_call: number;
}

export async function benchAttention(options: BenchOptions): Promise<BenchRow[]> {
  const timing = timingFor(options);
  const core: Core = await init({ simd: true });
  const n = B * H * T * D;
  const data = { q: randomMatrix(n, 1), k: randomMatrix(n, 2), v: randomMatrix(n, 3), w: randomMatrix(n, 4) };
  const q = Tensor.from(data.q, SHAPE, { persistent: true, requiresGrad: true });
  const k = Tensor.from(data.k, SHAPE, { persistent: true, requiresGrad: true });
  const v = Tensor.from(data.v, SHAPE, { persistent: true, requiresGrad: true });
  const w = Tensor.from(data.w, SHAPE, { persistent: true });
  /** One forward + backward; returns the loss and the gradient sums, then resets the gradients. */
  const call = (fn: typeof causalSelfAttention, check: boolean): WorkCheck | undefined => {
    const loss = fn(q, k, v).mul(w).sum();
    loss.backward();
    const result = check ? { loss: loss.item(), gradSums: [q, k, v].map((x) => x.grad()!.reduce((s, g) => s + g, 0)) } : undefined;
    for (const x of [q, k, v]) x.zeroGrad();
    core.endStep();
    return result;
  };
  const fusedCheck = call(causalSelfAttention, true)!;
  checkSameWork('novarl-composed', fusedCheck, call(causalSelfAttentionReference, true)!);

  const lanes: Lane[] = [
    syncLane('novarl', () => call(causalSelfAttention, false), timing, 3),
    syncLane('novarl-composed', () => call(causalSelfAttentionReference, false), timing, 3),
  ];
  const spec = { b: B, h: H, t: T, d: D, q: Array.from(data.q), k: Array.from(data.k), v: Array.from(data.v), w: Array.from(data.w), warmup_ms: timing.warmupMs };
  const torch = await ServingPeer.start<PeerReady>('attention', PEER_SCRIPT, spec);
  try {
    if (torch) {
      checkSameWork('pytorch-eager-1t', fusedCheck, { loss: torch.ready.loss, gradSums: torch.ready.grad_sums });
      lanes.push({ name: 'pytorch-eager-1t', calls: callsFor(torch.ready.warmup_s_per_call, timing), sample: (n) => torch.sample(n) });
    }
    // samples in rounds, one of each lane per round, so all see the same load
    const samples = await sampleInRounds(lanes, timing.samples);
    const novarl = medianOf(samples.get('novarl')!);
    return lanes.slice(1).map((lane) => row(lane.name, novarl, medianOf(samples.get(lane.name)!)));
  } finally {
    torch?.close();
    for (const x of [q, k, v, w]) x.free();
  }
}

function row(peer: string, novarl: WallAndCpu, other: WallAndCpu): BenchRow {
  return {
    bench: 'attention',
    size: SIZE,
    novarl_gflops: round(gflops(FLOPS, novarl.wall)),
    peer,
    peer_gflops: round(gflops(FLOPS, other.wall)),
    ratio: round(other.wall / novarl.wall, 3),
    notes: {
      novarl_ms: round(novarl.wall * 1000, 3),
      peer_ms: round(other.wall * 1000, 3),
      novarl_cpu_ms: round(novarl.cpu * 1000, 3),
      peer_cpu_ms: round(other.cpu * 1000, 3),
      cpu_ratio: round(other.cpu / novarl.cpu, 3),
    },
  };
}

interface WorkCheck {
  loss: number;
  gradSums: number[];
}

/** Throws unless the peer's loss and gradient sums match NovaRL's (f32 rounding aside). */
function checkSameWork(peer: string, ours: WorkCheck, theirs: WorkCheck): void {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(a));
  if (!close(ours.loss, theirs.loss) || ours.gradSums.some((g, i) => !close(g, theirs.gradSums[i]!))) {
    throw new Error(`attention: ${peer} did different work: loss ${theirs.loss} vs ${ours.loss}, gradient sums ${theirs.gradSums} vs ${ours.gradSums}`);
  }
}
