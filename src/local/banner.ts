/**
 * What `npm start` prints once the stack listens: where, in front of which
 * origins, with which store. Every origin a request can reach is named, so
 * a typo in `ORIGINS` shows before the first request goes to the wrong place.
 */
import type { LocalStack } from './stack.js';

type BannerFacts = Pick<
  LocalStack,
  'url' | 'originBaseUrl' | 'origins' | 'storeDescription' | 'bucketName' | 'snapshotSchedule'
>;

/** The start lines, each a whole line without its newline. */
export const startBanner = (stack: BannerFacts): string[] => {
  const { url, originBaseUrl, origins, storeDescription, bucketName, snapshotSchedule } = stack;
  // With ORIGINS, ORIGIN_HOST only serves the paths no name claims: say so, or it reads as the only origin.
  const originHost = origins.length === 0 ? originBaseUrl : `${originBaseUrl} (paths no ORIGINS name starts)`;
  const lines = [
    `rpm-cache listening on ${url}, origin ${originHost}, store ${storeDescription}, bucket ${bucketName}`,
  ];
  for (const { name, urls } of origins) {
    const [first, ...mirrors] = urls;
    const mirrorList = mirrors.length === 0 ? '' : `, mirrors ${mirrors.join(' ')}`;
    lines.push(`rpm-cache: origin ${name}: ${url}/${name}/... from ${first}/...${mirrorList}`);
  }
  if (snapshotSchedule !== undefined) {
    const { repositories, everyMs } = snapshotSchedule;
    lines.push(`rpm-cache: snapshots of ${repositories.join(', ')} checked every ${everyMs / 60_000} min`);
  }
  return lines;
};
