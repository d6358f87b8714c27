#!/bin/bash
# What the Lambda Node.js runtime's /var/runtime/bootstrap does before it runs the runtime
# client, for the tests and the benchmark: the heap flags it computes from
# AWS_LAMBDA_FUNCTION_MEMORY_SIZE, its other flags, and AWS_LAMBDA_EXEC_WRAPPER. Lambda runs
# `node <flags> /var/runtime/index.mjs`; here the entry and its arguments are this script's
# arguments (`lambda-bootstrap.sh node_modules/aws-lambda-ric/index.mjs index.handler`).
# Source: /var/runtime/bootstrap in the public.ecr.aws/lambda/nodejs images (the same in every
# Node.js runtime since 12; nodejs18.x read, 24 assumed to match).
set -euo pipefail
memory_arguments=()
if [[ -n ${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-} ]]; then
  new_space=$((AWS_LAMBDA_FUNCTION_MEMORY_SIZE / 10))
  semi_space=$((new_space / 2))
  old_space=$((AWS_LAMBDA_FUNCTION_MEMORY_SIZE - new_space))
  memory_arguments=("--max-semi-space-size=$semi_space" "--max-old-space-size=$old_space")
fi
node_arguments=(--expose-gc --max-http-header-size 81920 "${memory_arguments[@]}" "$@")
node="${LAMBDA_BOOTSTRAP_NODE:-$(command -v node)}"
if [[ -z ${AWS_LAMBDA_EXEC_WRAPPER:-} ]]; then
  exec "$node" "${node_arguments[@]}"
fi
if [[ ! -f $AWS_LAMBDA_EXEC_WRAPPER ]]; then
  echo "$AWS_LAMBDA_EXEC_WRAPPER: does not exist"
  exit 127
fi
if [[ ! -x $AWS_LAMBDA_EXEC_WRAPPER ]]; then
  echo "$AWS_LAMBDA_EXEC_WRAPPER: is not an executable"
  exit 126
fi
exec -- "$AWS_LAMBDA_EXEC_WRAPPER" "$node" "${node_arguments[@]}"
