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
# heap stays under 20 MB) makes V8 collect dead 5 MiB part buffers sooner (peak RSS at 1 GiB:
# 156-167 MB without, 136-143 MB with); the handler allocates little and does not notice.
ENV NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=256" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
COPY --from=build /build/dist/ ${LAMBDA_TASK_ROOT}/
# LAMBDA_HANDLER (handler | uploader) chooses the Lambda; see README.
CMD ["index.handler"]
