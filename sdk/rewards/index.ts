export { IdentityReward } from './identity';
export { ScaleClipReward, type ScaleClipOptions } from './scale_clip';
export { RunningNormReward, type RunningNormOptions } from './running_norm';
export { KlShapedReward, type KlShapedOptions } from './kl_shaped';
export { CompositeRewardManager } from './composite';
export { checkRewardBatch, checkFinite } from './validate';
