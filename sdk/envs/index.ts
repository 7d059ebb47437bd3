export { SyntheticPromptEnvironment, type SyntheticPromptOptions } from './synthetic_prompt';
export { PreferenceDataset, DatasetError, type PreferenceEntry, type DatasetLocation } from './preference_dataset';
export { SingleTurnPreferenceEnvironment, type SingleTurnOptions } from './single_turn';
export { CartPoleEnvironment, type CartPoleOptions } from './cartpole';
