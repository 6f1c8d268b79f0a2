#!/bin/sh
# Builds the function's `bootstrap` executable: build.sh [OUTPUT] (default: ./bootstrap here).
# Linked statically so it runs in a sandbox that only has /usr, /lib and /lib64.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runtimes=$(cd "$here/../../runtimes/cpp" && pwd)
out=${1:-"$here/bootstrap"}
exec "${CXX:-g++}" -O2 -std=c++20 -Wall -Wextra -I "$runtimes" -static -o "$out" "$here/main.cc"
