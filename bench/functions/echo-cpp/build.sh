#!/bin/sh
# build.sh OUTPUT: the static `bootstrap` of the C++ echo function.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runtimes=$(cd "$here/../../../runtimes/cpp" && pwd)
exec "${CXX:-g++}" -O2 -std=c++20 -I "$runtimes" -static -o "$1" "$here/main.cc"
