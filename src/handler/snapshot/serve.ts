/**
 * The handler's answer for repository metadata: the origin HEAD (of
 * repomd.xml, or of a content-named file itself) beside the manifest lookup,
 * then the row of SERVING_RULES that matches.
 */
import type { StaleReason } from '../../commons/metrics.js';
import { originRoute } from '../../commons/origins.js';
import { logger } from '../../commons/powertools.js';
import { type OriginValidators, type RepodataPath, repomdPath, sameRepomd } from '../../commons/repodata.js';
import { headOrigin } from '../origin.js';
import type { OriginHealth } from '../origin-health.js';
import type { ClientRequest, RedirectDecision } from '../redirect.js';
import {
  type Asked,
  fromMirror,
  type ProbeFacts,
  probeFacts,
  sign,
  timedProbe,
  toOrigin,
  trigger,
  triggerFacts,
  type UploadTrigger,
} from '../request-steps.js';
import { type OriginSays, type RepodataRole, type ServingRule, servingRule } from './serving-rules.js';
import { isLeftUnsettled, lookUpSnapshotFile, roleOf, type SnapshotLookup } from './snapshot-file.js';

/** What the answer needs beside the rule: the lookup, the origin facts, why the origin was not used. */
interface Context {
  readonly asked: Asked;
  readonly role: RepodataRole;
  readonly lookup: SnapshotLookup;
  readonly facts: ProbeFacts;
  readonly staleReason?: StaleReason;
  /** The validators of the origin's repomd.xml, for the snapshot trigger. */
  readonly version?: OriginValidators;
  /** The stored copy's URL, signed while the origin was asked. */
  readonly signed?: Promise<string | undefined>;
}

/** The X-Cache of the stored copy when served without asking the origin. */
const servedAs = (role: RepodataRole): 'stale' | 'hit' => (role === 'repomd' || role === 'companion' ? 'stale' : 'hit');

/** Whether this request for repomd.xml meets a snapshot whose run stopped before settling it. */
const meetsLeftUnsettled = ({ role, lookup }: Context): boolean =>
  role === 'repomd' && isLeftUnsettled(lookup.manifest, Date.now());

/** Carries out `rule`. */
const answer = async (rule: ServingRule, context: Context): Promise<RedirectDecision> => {
  const { asked, lookup, facts, staleReason } = context;
  const cache = staleReason === undefined ? {} : { staleReason };
  switch (rule.answer) {
    case 'origin': {
      const triggered: UploadTrigger =
        rule.trigger === true || meetsLeftUnsettled(context)
          ? await trigger(asked, `snapshot:${asked.path}`, context.version ?? {})
          : 'not-needed';
      return { outcome: rule.outcome, location: toOrigin(asked), ...triggerFacts(triggered), ...facts };
    }
    case 'snapshot': {
      if (lookup.key === undefined) throw new Error('a snapshot answer without a stored copy');
      // The origin cannot serve, but a run settles a snapshot before it asks the origin anything.
      const settling = meetsLeftUnsettled(context)
        ? trigger(asked, `snapshot:${asked.path}`).catch((error: unknown) => {
            // The stored copy is the answer in an outage: a failed Invoke must not turn it into a 302 to the origin.
            logger.warn('settle trigger failed', { error });
            return 'not-needed' as const;
          })
        : Promise.resolve('not-needed' as const);
      const { key } = lookup;
      const [location, triggered] = await Promise.all([
        (async () => (await context.signed) ?? (await sign(asked, key)))(),
        settling,
      ]);
      return { outcome: rule.outcome, location, ...triggerFacts(triggered), ...facts, ...cache };
    }
    case 'not-found':
      return { outcome: rule.outcome, location: undefined, uploadTriggered: false, ...facts, ...cache };
    case 'origin-or-mirror':
      return (
        (await fromMirror(asked, facts, rule.outcome)) ?? {
          outcome: rule.outcome,
          location: toOrigin(asked),
          uploadTriggered: false,
          ...facts,
        }
      );
  }
};

/**
 * Decides the answer for repository metadata at `repodata` (see
 * SERVING_RULES). S3 and Lambda errors are thrown, for the fallback middleware.
 */
export const decideRepodata = async (
  asked: Asked,
  repodata: RepodataPath,
  request: ClientRequest,
  health: OriginHealth | undefined,
): Promise<RedirectDecision> => {
  const { deps } = asked;
  const { config, probeOrigin = headOrigin } = deps;
  const role = roleOf(repodata);
  const lookedUp = lookUpSnapshotFile(deps.s3, config.bucketName, repodata, role, asked.deadline);

  if (request.want === 'stored') {
    const lookup = await lookedUp;
    const facts = { originStatus: 'not-asked', cached: lookup.holding === 'stored' } as const;
    if (lookup.holding === 'none') {
      const outcome = role === 'repomd' ? 'miss' : 'bypass';
      return { outcome, location: undefined, notStored: true, uploadTriggered: false, ...facts };
    }
    const rule =
      lookup.holding === 'stored'
        ? ({ answer: 'snapshot', outcome: servedAs(role) } as const)
        : ({ answer: 'not-found', outcome: 'stale' } as const);
    return answer(rule, { asked, role, lookup, facts });
  }

  // A companion or a fixed-name file follows repomd.xml: what the client got it from (see serving-rules.ts).
  const probed = role === 'listed-content' ? asked.origin : originRoute(config, repomdPath(repodata.repoDir)).urls[0];
  if (health?.assumedOffline() === true) {
    health.probeInBackground(() => probeOrigin(probed, config.originHeadTimeoutMs));
    const lookup = await lookedUp;
    const facts = { originStatus: 'assumed-offline', cached: lookup.holding === 'stored' } as const;
    const context = { asked, role, lookup, facts, staleReason: 'assumed-offline' } as const;
    return answer(servingRule(role, 'cannot-serve', lookup.holding), context);
  }

  const signed = lookedUp.then((lookup) => (lookup.key === undefined ? undefined : sign(asked, lookup.key)));
  // Signing runs beside the HEAD; a failure is thrown where the stored copy is served.
  signed.catch(() => undefined);
  const [head, lookup] = await Promise.all([timedProbe(asked, probed), lookedUp]);
  health?.noteProbe(head.result);
  const { manifest } = lookup;
  const says: OriginSays = !head.result.available
    ? 'cannot-serve'
    : role === 'listed-content' ||
        (manifest !== undefined &&
          head.result.validators !== undefined &&
          sameRepomd(manifest.validators, head.result.validators))
      ? 'serves-snapshot'
      : 'serves-other';
  const context: Context = {
    asked,
    role,
    lookup,
    facts: probeFacts(head, lookup.holding === 'stored'),
    signed,
    ...(says === 'cannot-serve' ? { staleReason: 'origin-failed' } : {}),
    ...(head.result.available ? { version: head.result.validators ?? {} } : {}),
  };
  return answer(servingRule(role, says, lookup.holding), context);
};
