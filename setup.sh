#!/usr/bin/env bash
# setup.sh: install what theseus-nb needs on a Debian/Ubuntu machine.
# System packages through apt-get when they are missing (QEMU, Graphviz, and
# the WebAssembly tool chain: wabt's wat2wasm/wast2json, clang + lld +
# wasi-libc and compiler-rt's wasm32 builtins for C -> wasm32), then this package and its test tools through pip.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v dot >/dev/null || need+=(graphviz)
command -v wat2wasm >/dev/null || need+=(wabt)
command -v clang >/dev/null || need+=(clang)
command -v wasm-ld >/dev/null || need+=(lld)
[ -e /usr/include/wasm32-wasi/stdio.h ] || need+=(wasi-libc)
# compiler-rt's wasm32 builtins: clang links them into every WASI program
compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" >/dev/null \
    || need+=(libclang-rt-dev-wasm32)
if ((${#need[@]})); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "please install: ${need[*]} (e.g. sudo apt-get install ${need[*]}," \
             "or conda install -c conda-forge qemu graphviz)" >&2
        exit 1
    fi
fi
python3 -m pip install -q --disable-pip-version-check -e '.[dev,lab,bench]'
