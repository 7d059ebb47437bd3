// The chat template of NovaRL's server, for models without one of their own (the tiny GPT-2s
// NovaRL trains have none): each message is one turn "<role>: <content>\n", and the prompt ends
// with "assistant:" for the model to continue.
//
//   [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]
//   -> "system: Be brief.\nuser: Hi\nassistant:"
//
// The reply is the completion's text as generated (a leading space included: the model writes
// after "assistant:"), without special tokens.

import type { ChatMessage } from './protocol';

/** Renders messages as "<role>: <content>\n" turns ending with "assistant:". */
export function renderChat(messages: readonly ChatMessage[]): string {
  return `${messages.map((m) => `${m.role}: ${m.content}\n`).join('')}assistant:`;
}
