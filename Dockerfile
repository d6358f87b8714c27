# syntax=docker/dockerfile:1
# Build stage: the same lockfile as CI, then esbuild bundles every dependency into dist/.
FROM public.ecr.aws/lambda/nodejs:24 AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json esbuild.config.mjs ./
COPY src/ src/
# The rpm-cache command line (dist/cli.mjs) is for users, not for the Lambdas: left out.
RUN node esbuild.config.mjs && rm dist/cli.mjs dist/cli.mjs.map

# Runtime stage: the Lambda base image and the bundles, nothing else (no node_modules).
FROM public.ecr.aws/lambda/nodejs:24
# Memory (npm run bench): a 1 MiB young generation and fewer, smaller malloc arenas keep the
# uploader's streaming garbage from piling up; an old generation bounded at 256 MB (the live JS
# heap stays under 20 MB) makes V8 collect dead 5 MiB part buffers sooner; the handler allocates
# little and does not notice. Lambda's bootstrap puts heap flags for the function's memory size
# on node's command line, where they override NODE_OPTIONS: the exec wrapper (dist/, so
# LAMBDA_TASK_ROOT) drops them, so these apply (uploader at 1 GiB, peak RSS: see docs/performance.md).
ENV NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=256" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    AWS_LAMBDA_EXEC_WRAPPER=${LAMBDA_TASK_ROOT}/lambda-exec-wrapper.sh
COPY --from=build /build/dist/ ${LAMBDA_TASK_ROOT}/
# LAMBDA_HANDLER (handler | uploader) chooses the Lambda; see docs/configuration.md.
CMD ["index.handler"]
