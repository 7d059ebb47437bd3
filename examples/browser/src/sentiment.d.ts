// The `sentiment` package (AFINN-165 word scores) ships no types: the part the RLHF page uses.
declare module 'sentiment' {
  export default class Sentiment {
    analyze(phrase: string): { score: number; comparative: number; positive: string[]; negative: string[] };
  }
}
