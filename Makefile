# The two set-up commands: `make demo` and `make test`. Both install what they need, build, then run.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
FHIST      := $(BUILD_DIR)/fhist

.PHONY: all deps configure build test demo demo-train clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The main job: a HyperBand search on Fashion-MNIST whose trials are ranked by the feature-history estimate.
DEMO_BUDGETS := --algo hyperband --min-budget 1 --max-budget 9 --eta 3
demo: build
	rm -rf runs/demo.db runs/demo.db.*
	mkdir -p runs
	$(FHIST) plan $(DEMO_BUDGETS)
	$(FHIST) search --space hparams --data fashion-mnist --model resnet18 $(DEMO_BUDGETS) --estimator fh \
	  --train-size 2000 --val-size 1000 --window 10 --seed 0 --journal runs/demo.db

# One network trained for 15 epochs with the original accuracy and the fh estimate printed side by side (crop + flip,
# as README's figures were measured).
demo-train: build
	rm -rf runs/demo-train runs/demo-train.json
	mkdir -p runs
	$(FHIST) train --data fashion-mnist --model resnet18 --width-mult 0.25 \
	  --epochs 15 --max-budget 15 --train-size 8000 --val-size 2000 --augment crop,flip --window 10 --seed 0 \
	  --compare-impl --run-dir runs/demo-train -o runs/demo-train.json

clean:
	rm -rf $(BUILD_DIR)
