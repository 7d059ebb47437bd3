// Types for the `sentiment` package (5.0.2), which ships none: only what sdk/rewards/sentiment.ts uses.
declare module 'sentiment' {
  interface AnalysisResult {
    /** Sum of the AFINN-165 scores of the words found (a word after a negator counts negated). */
    score: number;
    /** score / number of tokens (0 when there are none). */
    comparative: number;
    tokens: string[];
    words: string[];
    positive: string[];
    negative: string[];
  }
  class Sentiment {
    analyze(phrase: string): AnalysisResult;
  }
  export default Sentiment;
}
