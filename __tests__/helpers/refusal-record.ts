/** Refusal records as the uploader writes them (commons/upload-refusal.ts), for the handler's tests. */
import type { RefusalRecord } from '../../src/commons/upload-refusal.js';
import { originEtag } from './origin-server.js';

/** A refusal of `served` recorded a minute ago that answers for another hour, as the uploader writes one. */
export const refusalOf = (served: Buffer, overrides: Partial<RefusalRecord> = {}): RefusalRecord => ({
  outcome: 'refused',
  at: new Date(Date.now() - 60_000).toISOString(),
  until: new Date(Date.now() + 3_600_000).toISOString(),
  reason: 'not an RPM: no lead magic',
  validators: { etag: originEtag(served), contentLength: served.length },
  ...overrides,
});
