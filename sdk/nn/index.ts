export { Linear, type LinearOptions } from './linear';
export { MLP, activate, type Activation, type MLPOptions } from './mlp';
export { ActorCritic, CategoricalPolicyHead, ValueHead, logProbOf, type ActorCriticOptions } from './heads';
