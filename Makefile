# The two set-up commands: `make demo` and `make test`. Both install what they need, build, then run.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
FHIST      := $(BUILD_DIR)/fhist

.PHONY: all deps configure build test demo clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The main job: a real training run on Fashion-MNIST with the feature-history estimate printed every epoch.
demo: build
	rm -rf runs/demo runs/demo.json
	mkdir -p runs
	$(FHIST) train --data fashion-mnist --model resnet18 --width-mult 0.25 \
	  --epochs 15 --max-epochs 15 --train-size 8000 --val-size 2000 --window 10 --seed 0 \
	  --compare-impl --run-dir runs/demo --json runs/demo.json

clean:
	rm -rf $(BUILD_DIR)
