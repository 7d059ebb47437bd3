// log sigmoid(x), the log-likelihood of a Bradley-Terry preference (the reward model, DPO).
//
// Written as the second entry of a log-softmax over [0, x] (log(e^x / (e^0 + e^x))), which is
// stable for any x and has the exact gradient sigmoid(-x) everywhere, x = 0 included (the
// relu(-x) + log1p(exp(-|x|)) form has a kink there that the subgradients of relu and abs get
// wrong, and DPO starts exactly at x = 0: policy = reference).

import { Tensor } from './tensor';

/** log sigmoid(x), elementwise, for x of shape (B). */
export function logSigmoid(x: Tensor): Tensor {
  const [B] = x.shape as [number];
  const pair = Tensor.concat([Tensor.zeros([B, 1], { core: x.core }), x.reshape([B, 1])], 1); // (B, 2): [0, x]
  return pair.logSoftmax(-1).narrow(1, 1, 1).reshape([B]);
}
