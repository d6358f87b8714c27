/** Small statistics and the rows every section reports. */

export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

export const median = (values: readonly number[]): number => percentile(values, 50);

/** One figure of the benchmark: what, measured, the goal, and whether it holds (undefined: no goal). */
export interface Row {
  readonly section: string;
  readonly figure: string;
  readonly value: string;
  readonly goal: string;
  readonly holds: boolean | undefined;
}

export const ratio = (value: number, reference: number): string => `${(value / reference).toFixed(2)}×`;

/** Fisher-Yates, so interleaved cases meet a noisy neighbour alike. */
export const shuffled = <T>(items: readonly T[]): T[] => {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
};
