#!/bin/bash
# AWS_LAMBDA_EXEC_WRAPPER (set in the Dockerfile). Lambda's Node.js bootstrap runs
#   <this file> /var/lang/bin/node --expose-gc --max-http-header-size 81920 \
#     --max-semi-space-size=S --max-old-space-size=O /var/runtime/index.mjs
# with S and O computed from the function's memory size (1024 MB: 51 and 922). Flags on the
# command line override NODE_OPTIONS, so the image's heap settings would never apply and the
# uploader's dead 5 MiB part buffers would wait in a 51 MB young generation and a 922 MB old
# one (npm run bench: peak RSS above the 160 MB goal). Dropping the bootstrap's two heap flags
# (either spelling: node reads `_` and `-` alike) lets NODE_OPTIONS decide. Only node's own
# options are looked at: from the first argument that is neither an option nor an option's
# value (the runtime's script) on, everything reaches node unchanged and in order.
set -euo pipefail
arguments=("$1")
shift
skip_value=false
keep_value=false
options_done=false
for argument in "$@"; do
  if [[ $options_done == true ]]; then
    arguments+=("$argument")
  elif [[ $skip_value == true ]]; then
    skip_value=false
  elif [[ $keep_value == true ]]; then
    keep_value=false
    arguments+=("$argument")
  else
    case "$argument" in
      --max-semi-space-size=* | --max_semi_space_size=* | --max-old-space-size=* | --max_old_space_size=*) ;;
      --max-semi-space-size | --max_semi_space_size | --max-old-space-size | --max_old_space_size) skip_value=true ;;
      # Node options whose value may follow as the next argument.
      --max-http-header-size | --max_http_header_size | -r | --require | --import | --loader | --experimental-loader | --title | --stack-size | --stack_size)
        keep_value=true
        arguments+=("$argument")
        ;;
      -*) arguments+=("$argument") ;;
      *)
        options_done=true
        arguments+=("$argument")
        ;;
    esac
  fi
done
exec "${arguments[@]}"
