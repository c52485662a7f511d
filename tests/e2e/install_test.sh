#!/usr/bin/env bash
# cmake --install and find_package(fhist): the fhist program and the Torch-free search modules install into a
# prefix, and a project outside this tree (examples/find_package) finds them, builds examples/own_objective.cpp
# against them and runs its HyperBand search. Usage: install_test.sh FHIST PYTHON WORKDIR BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$4
SRC=$5

cmake --install "$BUILD" --prefix "$WORK/prefix" > install.log 2>&1 \
  && [ -x prefix/bin/fhist ] && [ -f prefix/include/fhist/study/ask_tell.hpp ] \
  && [ -f prefix/lib/cmake/fhist/fhistConfig.cmake ] && [ -f prefix/lib/cmake/fhist/fhistTargets.cmake ] \
  && pass "cmake --install: the program, the headers and the CMake package" || fail "install: $(tail -5 install.log)"
prefix/bin/fhist --version | grep -q "^fhist " && pass "the installed fhist runs" || fail "installed fhist --version"
! ls prefix/include/fhist | grep -qE "^(train|models|data|estimate)$" \
  && pass "no Torch module's headers in the package" || fail "Torch headers installed: $(ls prefix/include/fhist)"

cmake -S "$SRC/examples/find_package" -B out-of-tree -DCMAKE_PREFIX_PATH="$WORK/prefix" -DCMAKE_BUILD_TYPE=Release \
  > configure.log 2>&1 && cmake --build out-of-tree -j 2 > build.log 2>&1 \
  && pass "find_package(fhist) and a build outside the tree" || fail "out-of-tree: $(tail -15 configure.log build.log)"
(cd out-of-tree && ./own_objective --check > run.log 2>&1) && grep -q "best" out-of-tree/run.log \
  && pass "the out-of-tree program runs fhist's HyperBand to the expected incumbent" || fail "run: $(cat out-of-tree/run.log)"

# Without the prefix, CMake says which package it could not find.
cmake -S "$SRC/examples/find_package" -B no-prefix > no_prefix.log 2>&1
[ $? -ne 0 ] && grep -q "fhistConfig.cmake" no_prefix.log && pass "no package: CMake names fhistConfig.cmake" \
  || fail "missing package: $(tail -5 no_prefix.log)"

finish install_test
