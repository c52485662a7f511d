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

# The Python package through pip, offline (Debian's pip, setuptools, wheel): python/pyproject.toml and setup.py
# package this build tree's modules (FHIST_CMAKE_BUILD_DIR; without it setup.py configures and builds a tree of its
# own). A copy of python/, so the checkout gets no build/ or egg-info; the installed package runs from elsewhere.
if [ -d "$BUILD/python/fhist" ] && "$PY" -m pip --version > /dev/null 2>&1; then
  cp -r "$SRC/python" pysrc && rm -rf pysrc/build pysrc/*.egg-info
  FHIST_CMAKE_BUILD_DIR="$BUILD" "$PY" -m pip install --no-build-isolation --no-deps --no-index --target pyinst \
    ./pysrc > pip.log 2>&1 && [ -f pyinst/fhist/__init__.py ] && ls pyinst/fhist/_estimate.*.so > /dev/null \
    && pass "pip install --no-build-isolation python/: the package and both modules" || fail "pip: $(tail -15 pip.log)"
  mkdir -p elsewhere && (cd elsewhere && PYTHONPATH="$WORK/pyinst" "$PY" - > ../pyrun.log 2>&1 <<'PYEOF'
import fhist, numpy as np
assert fhist.__file__.startswith(__import__("os").environ["PYTHONPATH"]), fhist.__file__
rng = np.random.default_rng(0)
h = fhist.FeatureHistory(window=2)
yv = rng.integers(0, 3, 30)  # one validation set
for _ in range(2):
    y = rng.integers(0, 3, 60)
    h.add_epoch(np.eye(3)[y] * 3 + rng.normal(size=(60, 3)), y, np.eye(3)[yv] * 3 + rng.normal(size=(30, 3)), yv)
assert h.estimate("fh") > 0.8, h.estimate("fh")
study = fhist.Study("s.db", algo="random", n_configs=1, min_budget=1, max_budget=1)
job = study.ask()
study.report(job, 1, train_loss=1.0, val_acc=0.5)
assert study.tell(job)["state"] == "complete"
print("ok")
PYEOF
  ) && pass "the pip-installed package imports and runs from another folder (FeatureHistory, Study)" \
    || fail "installed package: $(tail -8 pyrun.log)"
else
  echo "SKIP - pip install of python/: no Python package in $BUILD or no pip for $PY"
fi

# Without the prefix, CMake says which package it could not find.
cmake -S "$SRC/examples/find_package" -B no-prefix > no_prefix.log 2>&1
[ $? -ne 0 ] && grep -q "fhistConfig.cmake" no_prefix.log && pass "no package: CMake names fhistConfig.cmake" \
  || fail "missing package: $(tail -5 no_prefix.log)"

finish install_test
