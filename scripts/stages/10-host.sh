#!/usr/bin/env bash
# Host build (warnings are errors, benchmarks compiled) and the whole ctest suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build
ctest --test-dir build --output-on-failure -j "$(nproc)"
