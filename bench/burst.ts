/**
 * Section 4: a burst of 50 misses for one uncached RPM, each upload in a
 * process of its own (as separate Lambda containers would run them), against
 * the local S3 that enforces conditional writes: how many times the origin
 * is asked for the file.
 */
import { basename } from 'node:path';
import { benchRpm } from './rpms.js';
import type { Row } from './stats.js';
import { runTransfer, startFileOrigin, startStore, workerEnv } from './upload.js';

const BURST = Number(process.env.BENCH_BURST ?? 50);

export const measureBurst = async (workerPath: string): Promise<Row[]> => {
  const file = await benchRpm(10);
  const origin = await startFileOrigin([file]);
  const store = await startStore('bench');
  try {
    const results = await Promise.all(
      Array.from({ length: BURST }, () =>
        runTransfer(
          workerPath,
          workerEnv(origin.url, store.endpoint, { BENCH_MODE: 'uploader', BENCH_PATH: `pub/${basename(file)}` }),
        ),
      ),
    );
    const outcomes = new Map<string, number>();
    for (const { outcome } of results) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const downloads = origin.gets.get(basename(file)) ?? 0;
    return [
      {
        section: 'burst',
        figure: `${BURST} concurrent uploads of one RPM in separate processes: origin downloads`,
        value: `${downloads} (${[...outcomes].map(([outcome, count]) => `${count} ${outcome}`).join(', ')})`,
        goal: '1',
        holds: downloads === 1 && outcomes.get('stored') === 1,
      },
    ];
  } finally {
    origin.close();
    await store.close();
  }
};
