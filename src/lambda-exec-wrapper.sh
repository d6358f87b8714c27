#!/bin/bash
# AWS_LAMBDA_EXEC_WRAPPER (set in the Dockerfile). Lambda's Node.js bootstrap runs
#   <this file> /var/lang/bin/node --expose-gc --max-http-header-size 81920 \
#     --max-semi-space-size=S --max-old-space-size=O /var/runtime/index.mjs
# with S and O computed from the function's memory size (1024 MB: 51 and 922). Flags on the
# command line override NODE_OPTIONS, so the image's heap settings would never apply and the
# uploader's dead 5 MiB part buffers would wait in a 51 MB young generation and a 922 MB old
# one (npm run bench: peak RSS above the 160 MB goal). Dropping the bootstrap's two heap flags
# lets NODE_OPTIONS decide; everything else reaches node unchanged and in order.
set -euo pipefail
arguments=()
skip_value=false
for argument in "$@"; do
  if [[ $skip_value == true ]]; then
    skip_value=false
    continue
  fi
  case "$argument" in
    --max-semi-space-size=* | --max-old-space-size=*) ;;
    --max-semi-space-size | --max-old-space-size) skip_value=true ;;
    *) arguments+=("$argument") ;;
  esac
done
exec "${arguments[@]}"
