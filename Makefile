# The two set-up commands: `make demo` and `make test`. Both install what they need, build, then run.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
FHIST      := $(BUILD_DIR)/fhist

.PHONY: all deps configure build test python test-asan fuzz demo demo-train clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The Python package alone, into build/python (PYTHONPATH=build/python /usr/bin/python3 -c 'import fhist').
python: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target fhist_python

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer (own build folder): unit, fuzz smoke, bad input and
# end-to-end, but those hosted by Python (an instrumented module cannot load into python3) and e2e.install (it builds
# a project outside against the instrumented libraries). About 65 min on 2 cores, build included (LibTorch itself is
# not instrumented). LibTorch's own one-time allocations are not fhist's to free, so leak detection is off.
ASAN_DIR ?= build-asan
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFHIST_SANITIZE=ON \
	  -DFHIST_BUILD_BENCH=OFF -DFHIST_BUILD_EXAMPLES=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) -E '^(python[.]|e2e[.]python|e2e[.]install)' --output-on-failure -j $(JOBS)

# libFuzzer on every parser (clang, everything instrumented with ASan + UBSan), FUZZ_SECONDS each; findings and the
# grown corpus stay in $(FUZZ_DIR). scripts/fuzz.sh prints the executions and any finding per target.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	bash scripts/install-deps.sh --fuzz
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DFHIST_LIBFUZZER=ON -DFHIST_BUILD_BENCH=OFF -DFHIST_BUILD_EXAMPLES=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_idx fuzz_cifar fuzz_npy fuzz_arch fuzz_json fuzz_csv
	bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The main job: fhist's default search on Fashion-MNIST (top-k-auto, its finalists ranked in turn by the training
# loss and by the feature-history estimate: --estimator tse-ema+fh), one HyperBand round's epochs.
DEMO_BUDGETS := --min-budget 1 --max-budget 9 --eta 3
demo: build
	rm -rf runs/demo.db runs/demo.db.*
	mkdir -p runs
	$(FHIST) plan $(DEMO_BUDGETS)
	$(FHIST) search --space hparams --data fashion-mnist --model resnet18 $(DEMO_BUDGETS) \
	  --train-size 2000 --val-size 1000 --window 10 --seed 0 --journal runs/demo.db
	$(FHIST) report --journal runs/demo.db --html runs/demo.html

# One network trained for 15 epochs with the original accuracy and the fh estimate printed side by side (crop + flip,
# as README's figures were measured).
demo-train: build
	rm -rf runs/demo-train runs/demo-train.json
	mkdir -p runs
	$(FHIST) train --data fashion-mnist --model resnet18 --width-mult 0.25 \
	  --epochs 15 --max-budget 15 --train-size 8000 --val-size 2000 --augment crop,flip --window 10 --seed 0 \
	  --compare-impl --run-dir runs/demo-train -o runs/demo-train.json

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
