/**
 * The `rpm-cache` command line. `runCli` takes its arguments, streams,
 * environment and an abort signal, and resolves to the exit status, so it is
 * tested in-process; `src/cli.ts` wires it to the process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseSnapshotTime } from '../commons/snapshot-history.js';
import { type LockedPackage, LockfileError, readLockfiles, readLockfileText } from './lockfile.js';
import { MirrorSourceError, mirrorPackages } from './mirror.js';
import { OriginOptionError, originMatcher } from './origin-match.js';
import { hostsOfUrls, type OriginOptions, unmatchedOriginsHint, verdictOf } from './outcome.js';
import { CacheUnreachableError, checkCache } from './preflight.js';
import {
  jsonReport,
  lineProgress,
  type OutputStream,
  type ProgressReporter,
  silentProgress,
  summaryText,
  terminalProgress,
} from './report.js';
import { rewriteLockfile } from './rewrite.js';
import { fetchListing, ListingError, listingTable, RepositoryArgumentError, repositoryPathOf } from './snapshots.js';
import { cacheUrlOf, expectationHeaders, type WarmResult, warm } from './warm.js';
import { writeWhole } from './write-whole.js';

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: no new requests, the summary so far, exit 130. */
  readonly signal?: AbortSignal;
}

/** Exit statuses. */
export const EXIT = Object.freeze({ ok: 0, notAllCached: 1, usage: 2, interrupted: 130 });

interface OriginFlags {
  readonly origins?: string;
  readonly originHost?: string;
}

interface WarmFlags extends OriginFlags {
  readonly cache?: string;
  readonly concurrency: number;
  readonly deadline: number;
  readonly verify: boolean;
  readonly json: boolean;
}

const positiveInteger = (max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
  }
  return Number(value);
};

/** A day: a warm run that needs longer is better run again. (Node's timers also stop at 2^31-1 ms, ~24.8 days.) */
export const MAX_DEADLINE_SECONDS = 86_400;

/** Seconds above 0 and at most a day, as whole milliseconds (timers take nothing finer: `1.005` s is 1005 ms). */
const deadlineSeconds = (value: string) => {
  const milliseconds = Math.round(Number(value) * 1000);
  if (!/^\d+(\.\d+)?$/.test(value) || !(milliseconds >= 1) || milliseconds > MAX_DEADLINE_SECONDS * 1000) {
    throw new InvalidArgumentError(`expected seconds above 0, at most ${MAX_DEADLINE_SECONDS}`);
  }
  return milliseconds / 1000;
};

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The origin options as given, for the hints that quote them. */
const originOptionsOf = ({ origins, originHost }: OriginFlags): OriginOptions => ({
  ...(origins === undefined ? {} : { origins }),
  ...(originHost === undefined ? {} : { originHost }),
});

/** Ctrl-C before the run had anything to report (the cache's first answer): exit 130, not the aborted request's error. */
class InterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/**
 * The URL a cache address without a scheme was probably meant as (`127.0.0.1:18080`, `localhost:8080`,
 * `abc.execute-api...amazonaws.com/prod`): http for a local name or an IP address, https otherwise;
 * undefined when the value has a scheme or would not be a URL either way.
 */
const withSchemeGuess = (value: string): string | undefined => {
  // `localhost:8080` parses as a URL of scheme `localhost:`, so a parse failure is no test of a missing scheme.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^https?:/i.test(value)) return undefined;
  try {
    const host = new URL(`http://${value}`).hostname;
    const local = host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
    return `${local ? 'http' : 'https'}://${value}`;
  } catch {
    return undefined;
  }
};

const cacheBaseUrl = (flag: string | undefined, env: CliIo['env']): string => {
  const value = flag ?? env.RPM_CACHE_URL?.trim();
  if (value === undefined || value === '') {
    throw new UsageError('no cache URL: pass --cache URL or set RPM_CACHE_URL');
  }
  // Named as the user gave it: an address from the environment is no --cache.
  const source = flag === undefined ? 'RPM_CACHE_URL' : '--cache';
  const guess = withSchemeGuess(value);
  if (guess !== undefined) {
    throw new UsageError(`${source} ${JSON.stringify(value)} has no scheme: did you mean ${guess}?`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} ${JSON.stringify(value)} is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new UsageError(`${source} ${JSON.stringify(value)} must be an http(s) base URL without query or fragment`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
};

const runWarm = async (lockfiles: string[], flags: WarmFlags, io: CliIo): Promise<number> => {
  const cacheUrl = cacheBaseUrl(flags.cache, io.env);
  // Every lockfile parses before the first request.
  const origins = originMatcher(flags.origins, flags.originHost);
  const packages: LockedPackage[] = await readLockfiles(lockfiles, (note) => io.stderr.write(`rpm-cache: ${note}\n`));
  const originOptions = origins === undefined ? undefined : originOptionsOf(flags);
  return warmAndReport(
    packages,
    { cacheUrl, origins, ...(originOptions === undefined ? {} : { originOptions }) },
    flags,
    io,
  );
};

/** Warms `packages` (checking the cache answers first), with progress and the summary; the exit status. */
const warmAndReport = async (
  packages: readonly LockedPackage[],
  {
    cacheUrl,
    origins,
    originOptions,
  }: { cacheUrl: string; origins: ReturnType<typeof originMatcher>; originOptions?: OriginOptions },
  flags: Omit<WarmFlags, 'cache' | 'origins' | 'originHost'>,
  io: CliIo,
): Promise<number> => {
  const firstPackage = packages.find((pkg) => cacheUrlOf(cacheUrl, pkg, origins) !== undefined);
  const first = firstPackage === undefined ? undefined : cacheUrlOf(cacheUrl, firstPackage, origins);
  if (firstPackage !== undefined && first !== undefined) {
    try {
      // Asked as warm will ask it (the question may start its upload, or its rescue: with what the lockfile pins).
      await checkCache(first, {
        headers: expectationHeaders(firstPackage),
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
    } catch (error) {
      // Ctrl-C aborts the question: the cache is not unreachable for that.
      if (io.signal?.aborted === true) throw new InterruptedError('interrupted before the cache answered');
      throw error;
    }
  }
  const progress: ProgressReporter = flags.json
    ? silentProgress()
    : io.stdout.isTTY === true
      ? terminalProgress(io.stdout, packages.length)
      : lineProgress(io.stdout, packages.length);
  let results: WarmResult[];
  try {
    results = await warm(packages, {
      cacheUrl,
      concurrency: flags.concurrency,
      deadlineMs: Math.round(flags.deadline * 1000),
      verify: flags.verify,
      ...(origins === undefined ? {} : { origins }),
      onFinished: (result) => progress.finished(result),
      onWaiting: (pkg, why) => progress.waiting(pkg, why),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  } finally {
    progress.stop();
  }
  const interrupted = io.signal?.aborted === true;
  if (interrupted) {
    io.stdout.write(flags.json ? jsonReport(results, { interrupted }) : summaryText(results, interrupted));
    io.stderr.write(
      'rpm-cache: interrupted: stopped before every package had finished (the summary is the run so far)\n',
    );
    return EXIT.interrupted;
  }
  const { status, hint } = verdictOf(results, {
    cacheUrl,
    byUrlPath: origins === undefined,
    ...(originOptions === undefined ? {} : { originOptions }),
  });
  io.stdout.write(flags.json ? jsonReport(results, hint === undefined ? {} : { hint }) : summaryText(results, false));
  if (hint !== undefined) io.stderr.write(`rpm-cache: ${hint}\n`);
  return status === 'ok' ? EXIT.ok : status === 'nothingWarmed' ? EXIT.usage : EXIT.notAllCached;
};

interface MirrorFlags {
  readonly cache?: string;
  readonly at?: string;
  readonly concurrency: number;
  readonly deadline: number;
  readonly json: boolean;
}

const runMirror = async (argument: string, flags: MirrorFlags, io: CliIo): Promise<number> => {
  const cacheUrl = cacheBaseUrl(flags.cache, io.env);
  const repository = repositoryPathOf(argument, cacheUrl);
  if (flags.at !== undefined && parseSnapshotTime(flags.at) === undefined) {
    throw new UsageError(
      `--at ${JSON.stringify(flags.at)} is not a time: expected YYYYMMDDTHHMMSSZ (UTC), as the cache's listing shows them`,
    );
  }
  let packages: LockedPackage[];
  try {
    packages = await mirrorPackages({
      cacheUrl,
      repository,
      ...(flags.at === undefined ? {} : { at: flags.at }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  } catch (error) {
    if (!(error instanceof MirrorSourceError || error instanceof CacheUnreachableError)) throw error;
    // Ctrl-C aborts the listing's requests: that is no unreachable cache nor unreadable snapshot.
    if (io.signal?.aborted === true) throw new InterruptedError('interrupted before the snapshot was read');
    if (flags.json) io.stdout.write(`${JSON.stringify({ error: error.message }, null, 2)}\n`);
    io.stderr.write(`rpm-cache: ${error.message}\n`);
    // As warm: a cache out of reach is the command's problem (2), a snapshot that cannot be read the cache's (1).
    return error instanceof CacheUnreachableError ? EXIT.usage : EXIT.notAllCached;
  }
  // Every package is at its cache URL already: the cache is its own origin here.
  const origins = originMatcher(undefined, cacheUrl);
  return warmAndReport(packages, { cacheUrl, origins }, { ...flags, verify: true }, io);
};

interface RewriteFlags extends OriginFlags {
  readonly cache?: string;
  readonly inPlace: boolean;
  readonly check: boolean;
}

const runRewrite = async (lockfiles: string[], flags: RewriteFlags, io: CliIo): Promise<number> => {
  const cacheUrl = cacheBaseUrl(flags.cache, io.env);
  const origins = originMatcher(flags.origins, flags.originHost);
  if (origins === undefined) {
    throw new UsageError("rewrite needs the deployment's origins: pass --origins, --origin-host or both");
  }
  if (flags.inPlace && flags.check) throw new UsageError('--in-place and --check do not go together');
  // Every lockfile is read and rewritten before anything is written.
  const results = [];
  for (const file of lockfiles) {
    results.push({ file, ...rewriteLockfile(await readLockfileText(file), file, { cacheUrl, origins }) });
  }
  const unmatched = results.flatMap((result) => result.unmatched);
  if (unmatched.length > 0 && results.every((result) => result.rewritten === 0 && result.atCache === 0)) {
    // Nothing under the origins: options that name other hosts, and a --check that passed would say all is well.
    throw new UsageError(`nothing to rewrite: ${unmatchedOriginsHint(hostsOfUrls(unmatched), originOptionsOf(flags))}`);
  }
  let notRewritten = false;
  let notWritten = false;
  for (const { file, text, rewritten, unmatched } of results) {
    for (const url of unmatched) io.stderr.write(`${file}: under none of the origins, left as it is: ${url}\n`);
    if (flags.check) {
      if (rewritten > 0) {
        notRewritten = true;
        io.stderr.write(`${file}: ${rewritten} URL(s) not rewritten to the cache yet\n`);
      }
    } else if (flags.inPlace) {
      try {
        if (rewritten > 0) await writeWhole(file, text);
        io.stderr.write(`${file}: ${rewritten} URL(s) rewritten\n`);
      } catch (error) {
        // writeWhole leaves the file as it was: say so, and go on with the others (each is whole or untouched).
        const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : '';
        io.stderr.write(`rpm-cache: ${file}: cannot write it${code === '' ? '' : ` (${code})`}; left as it was\n`);
        notWritten = true;
      }
    } else {
      io.stdout.write(text);
    }
  }
  return notRewritten || notWritten ? EXIT.notAllCached : EXIT.ok;
};

interface SnapshotsFlags {
  readonly cache?: string;
  readonly json: boolean;
}

const runSnapshots = async (argument: string, flags: SnapshotsFlags, io: CliIo): Promise<number> => {
  const cacheUrl = cacheBaseUrl(flags.cache, io.env);
  const repository = repositoryPathOf(argument, cacheUrl);
  try {
    const listing = await fetchListing(cacheUrl, repository, io.signal === undefined ? {} : { signal: io.signal });
    io.stdout.write(flags.json ? `${JSON.stringify(listing, null, 2)}\n` : listingTable(cacheUrl, listing));
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ListingError)) throw error;
    // Ctrl-C aborts the request: that is no unreachable cache.
    const interrupted = io.signal?.aborted === true;
    const message = interrupted ? 'interrupted before the cache answered' : error.message;
    // With --json, stdout stays one JSON document, the error too.
    if (flags.json) io.stdout.write(`${JSON.stringify({ error: message }, null, 2)}\n`);
    io.stderr.write(`rpm-cache: ${message}\n`);
    return interrupted ? EXIT.interrupted : EXIT.notAllCached;
  }
};

const program = (io: CliIo, setExit: (code: number) => void): Command => {
  const root = new Command('rpm-cache')
    .description('rpm-cache tools')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(rpm-cache --help lists the commands; rpm-cache <command> --help shows its options)');
  root
    .command('warm')
    .showHelpAfterError('(rpm-cache warm --help shows every option)')
    .usage(
      '--cache <url> [--origins <entries>] [--origin-host <url>] [--concurrency <n>] [--deadline <seconds>] ' +
        '[--verify] [--json] <lockfile...>',
    )
    .description(
      'Make sure every RPM that rpms.lock.yaml lockfiles pin is cached: ask the cache for each package, ' +
        'wait for the ones it is fetching, report each as cached, newly-cached, rescued, lost, failed or skipped.',
    )
    .argument('<lockfile...>', 'rpms.lock.yaml files (rpm-lockfile-prototype); every arch, binary and source packages')
    .option('--cache <url>', 'rpm-cache base URL, in place of https://dl.fedoraproject.org (default: $RPM_CACHE_URL)')
    .addOption(new Option('--concurrency <n>', 'requests in flight at once').argParser(positiveInteger(256)).default(8))
    .addOption(
      new Option('--deadline <seconds>', 'give up on packages still not cached after this long')
        .argParser(deadlineSeconds)
        .default(900),
    )
    .option(
      '--verify',
      "download each cached package through the cache and check the lockfile's size and sha256",
      false,
    )
    .option(
      '--json',
      'print one JSON document at the end and nothing else on stdout (on an error: {"error": ...})',
      false,
    )
    .option(
      '--origins <entries>',
      "the deployment's ORIGINS ('name=url[,mirror...] ...'): a URL under one of an origin's URLs is asked as <name>/<rest>",
    )
    .option(
      '--origin-host <url>',
      "the deployment's ORIGIN_HOST: a URL under it is asked as <rest>; with either option, other URLs are skipped",
    )
    .addHelpText(
      'after',
      [
        '',
        'Exit status: 0 every package cached, newly-cached, rescued or skipped; 1 any lost or failed;',
        '2 bad usage or a bad lockfile (nothing is sent then), a cache out of reach, or every package skipped',
        "(nothing warmed: --origins/--origin-host name none of the lockfiles' hosts); 130 interrupted (Ctrl-C).",
        "Each package's sha256, size and sourcerpm go with its request (X-Cache-Expect-Sha256, X-Cache-Expect-Size,",
        'X-Cache-Source-Rpm): a cache with RESCUE_URLS may then fetch one the origin lost from an archive, if the bytes match.',
        '',
        'Example:',
        '  rpm-cache warm --cache https://abc123.execute-api.eu-west-1.amazonaws.com rpms.lock.yaml',
      ].join('\n'),
    )
    .action(async (lockfiles: string[], flags: WarmFlags) => {
      setExit(await runWarm(lockfiles, flags, io));
    });
  root
    .command('rewrite')
    .showHelpAfterError('(rpm-cache rewrite --help shows every option)')
    // One of --origins and --origin-host is required (or both): commander's own line would show both optional.
    .usage('--cache <url> (--origins <entries> | --origin-host <url> | both) [--in-place | --check] <lockfile...>')
    .description(
      "Print rpms.lock.yaml lockfiles with every package and source URL under one of the deployment's origins " +
        'turned into a cache URL, everything else unchanged (for tools with no proxy setting, such as hermeto).',
    )
    .argument('<lockfile...>', 'rpms.lock.yaml files (rpm-lockfile-prototype)')
    .option('--cache <url>', 'rpm-cache base URL the URLs should point at (default: $RPM_CACHE_URL)')
    .option(
      '--origins <entries>',
      "the deployment's ORIGINS ('name=url[,mirror...] ...'): a URL under one of an origin's URLs becomes " +
        '<cache>/<name>/<rest> (this, --origin-host or both is required)',
    )
    .option(
      '--origin-host <url>',
      "the deployment's ORIGIN_HOST: a URL under it becomes <cache>/<rest> (this, --origins or both is required)",
    )
    .option('--in-place', 'write each lockfile back instead of printing it', false)
    .option('--check', 'print nothing; exit 1 when a lockfile has URLs not rewritten yet (for CI)', false)
    .addHelpText(
      'after',
      [
        '',
        'URLs under none of the origins are left as they are and listed on stderr. Rewriting a',
        'rewritten lockfile changes nothing. Exit status: 0 done; 1 with --check, something to',
        'rewrite; 2 bad usage, a bad lockfile, or no URL under any of the origins (nothing is',
        'written then).',
        '',
        'Example:',
        '  rpm-cache rewrite --cache https://abc123.execute-api.eu-west-1.amazonaws.com \\',
        "    --origins 'fedora=https://dl.fedoraproject.org/pub/fedora/linux' --in-place rpms.lock.yaml",
      ].join('\n'),
    )
    .action(async (lockfiles: string[], flags: RewriteFlags) => {
      setExit(await runRewrite(lockfiles, flags, io));
    });
  root
    .command('mirror')
    .showHelpAfterError('(rpm-cache mirror --help shows every option)')
    .usage('--cache <url> [--at <time>] [--concurrency <n>] [--deadline <seconds>] [--json] <repository>')
    .description(
      "Make sure every RPM a repository's snapshot lists is stored in the cache, verified against the " +
        "listing's size and SHA-256: the current snapshot, or the one current at --at. Resumable: a second run " +
        'finds what is stored and fetches only the rest.',
    )
    .argument('<repository>', 'the directory that holds repodata/, as a path under the cache or a URL')
    .option('--cache <url>', 'rpm-cache base URL (default: $RPM_CACHE_URL)')
    .option('--at <time>', 'the snapshot current at this time (YYYYMMDDTHHMMSSZ, UTC; see rpm-cache snapshots)')
    .addOption(new Option('--concurrency <n>', 'requests in flight at once').argParser(positiveInteger(256)).default(8))
    .addOption(
      new Option('--deadline <seconds>', 'give up on packages still not stored after this long')
        .argParser(deadlineSeconds)
        .default(3600),
    )
    .option(
      '--json',
      'print one JSON document at the end and nothing else on stdout (on an error: {"error": ...})',
      false,
    )
    .addHelpText(
      'after',
      [
        '',
        'Exit status: 0 every package stored; 1 any lost or failed, or the snapshot could not be read;',
        '2 bad usage, a cache out of reach, or every package skipped; 130 interrupted (Ctrl-C).',
      ].join('\n'),
    )
    .action(async (repository: string, flags: MirrorFlags) => {
      setExit(await runMirror(repository, flags, io));
    });
  root
    .command('snapshots')
    .showHelpAfterError('(rpm-cache snapshots --help shows every option)')
    .usage('--cache <url> [--json] <repository>')
    .description(
      'List the snapshots of one repository the cache serves at /@<time>/ (time travel), newest first, ' +
        'each with the baseurl that gives the repository as it was then.',
    )
    .argument(
      '<repository>',
      'the directory that holds repodata/, as a path under the cache (pub/fedora/linux/updates/44/Everything/x86_64/) or a URL',
    )
    .option('--cache <url>', 'rpm-cache base URL (default: $RPM_CACHE_URL)')
    .option('--json', 'print the cache\'s listing as JSON (on an error: {"error": ...})', false)
    .addHelpText(
      'after',
      [
        '',
        'Exit status: 0 listed; 1 the cache could not be reached or answered an error (404: no',
        'snapshot of that repository yet); 2 bad usage (nothing is sent then); 130 interrupted (Ctrl-C).',
        '',
        'Example:',
        '  rpm-cache snapshots --cache https://abc123.execute-api.eu-west-1.amazonaws.com \\',
        '    pub/fedora/linux/updates/44/Everything/x86_64/',
      ].join('\n'),
    )
    .action(async (repository: string, flags: SnapshotsFlags) => {
      setExit(await runSnapshots(repository, flags, io));
    });
  return root;
};

/** The commands whose `--json` makes stdout one JSON document. */
const JSON_COMMANDS: ReadonlySet<string> = new Set(['warm', 'mirror', 'snapshots']);

/**
 * Whether `argv` asks for JSON output, read from the arguments themselves: an error may come before
 * (or while) the options are parsed, and stdout must be one JSON document then too.
 */
const wantsJson = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  const words = end === -1 ? argv : argv.slice(0, end);
  const command = words.find((word) => !word.startsWith('-'));
  return command !== undefined && JSON_COMMANDS.has(command) && words.includes('--json');
};

/** Runs `rpm-cache <argv>`; resolves to the exit status. */
export const runCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const json = wantsJson(argv);
  /** With --json, a fatal error is the JSON document: `{"error": ...}`; stderr has it as a line either way. */
  const jsonError = (message: string) => {
    if (json) io.stdout.write(`${JSON.stringify({ error: message }, null, 2)}\n`);
  };
  let exitCode: number = EXIT.ok;
  try {
    await program(io, (code) => {
      exitCode = code;
    }).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0. Commander wrote its message on stderr already.
      if (error.exitCode === 0) return EXIT.ok;
      jsonError(error.message.replace(/^error: /, ''));
      return EXIT.usage;
    }
    if (error instanceof InterruptedError) {
      jsonError(error.message);
      io.stderr.write(`rpm-cache: ${error.message}\n`);
      return EXIT.interrupted;
    }
    if (
      error instanceof LockfileError ||
      error instanceof UsageError ||
      error instanceof CacheUnreachableError ||
      error instanceof OriginOptionError ||
      error instanceof RepositoryArgumentError
    ) {
      jsonError(error.message);
      io.stderr.write(`rpm-cache: ${error.message}\n`);
      return EXIT.usage;
    }
    // A bug: still one JSON document, and the error goes on (its stack on stderr, the same exit status).
    jsonError(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
};
