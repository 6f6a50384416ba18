# lola — build, tests and demo.
#   make            build build/lola (CUDA kernels too when nvcc is found)
#   make CUDA=0     CPU-only build;  make CUDA=1  require the CUDA build
#   make deps       install the Debian packages (as root) or say what to install
#   make check      build and run the unit tests (1, 2 and 3 ranks) and the end-to-end tests
#   make check SAN=1  the same under AddressSanitizer + UBSan
#   make demo       run the main job on inputs/demo.cfg
#   make emu        the CUDA backend built for the CPU emulator (build/emu: regression/gpu/emu)

SHELL := /bin/bash
VERSION := 0.1.0

PKGS := hdf5-openmpi libconfig openblas fftw3f
DEBIAN_PACKAGES := build-essential pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev \
                   libconfig-dev libopenblas-dev libfftw3-dev

# What the tests need beyond the build: the end-to-end scripts read HDF5 and
# safetensors files with an independent reader (numpy, h5py).
TEST_PACKAGES := python3 python3-numpy python3-h5py

MPICC ?= mpicc
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA ?= $(if $(NVCC),1,0)
SAN ?= 0
# EMU=1: the CUDA kernels compiled as C++ for the emulator (regression/gpu/emu)
# and linked against it instead of the CUDA libraries: no GPU needed.
EMU ?= 0
ifeq ($(EMU),1)
override CUDA := 0
BUILD ?= build/emu
endif

# Each variant builds in its own folder; BUILD=... gives a private one.
ifeq ($(SAN),1)
BUILD ?= build/san
else
BUILD ?= build
endif
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc was not found: put the CUDA toolkit's bin on PATH or set NVCC)
endif
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -fno-math-errno: sqrt and friends need not set errno, so loops with them vectorise.
CFLAGS ?= -O2 -g -march=x86-64-v2 -fno-math-errno
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -fopenmp -MMD -MP -I. $(PKG_CFLAGS) \
          -DLOLA_VERSION='"$(VERSION)"' -DLOLA_INPUTS_DIR='"$(CURDIR)/inputs"'
LDLIBS += $(PKG_LIBS) -lm
LDFLAGS += -fopenmp

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
ifeq ($(CUDA),1)
CFLAGS += -DLOLA_CUDA -I$(CUDA_HOME)/include
NVCCFLAGS ?= -O2 -g -std=c++17 -gencode arch=compute_90,code=[sm_90,compute_90] \
             --Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -I. -I$(CUDA_HOME)/include -DLOLA_CUDA
LDLIBS += -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/lib -lcudart -lcublas -lcublasLt -lnccl -lstdc++ -ldl \
          -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib
# cuDNN is loaded at run time (kernels/cuda/cudnn_api.cuh); its headers are
# needed to build that path, which is left out where they are missing.
CUDNN_H := $(firstword $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h \
                                  /usr/include/$(shell gcc -dumpmachine 2>/dev/null)/cudnn.h))
ifneq ($(CUDNN_H),)
NVCCFLAGS += -DLOLA_CUDNN -I$(dir $(CUDNN_H))
endif
CU_SRC := $(wildcard kernels/cuda/*.cu)
endif

ifeq ($(EMU),1)
MPICXX ?= mpicxx
EMU_CUDA_INCLUDE := $(firstword $(wildcard $(CUDA_HOME)/include /usr/local/cuda/include))
ifeq ($(wildcard $(EMU_CUDA_INCLUDE)/cuda_runtime.h),)
$(error EMU=1 needs the CUDA toolkit's headers (cuda_runtime.h, cublasLt.h, nccl.h): set CUDA_HOME)
endif
CFLAGS += -DLOLA_CUDA -I$(EMU_CUDA_INCLUDE)
EMU_CXXFLAGS := -O1 -g -std=c++17 -ffp-contract=off -Wall -Wextra -Werror -Wno-unknown-pragmas -MMD -MP -I. \
                -I$(EMU_CUDA_INCLUDE) -DLOLA_CUDA -DOMPI_SKIP_MPICXX -DMPICH_SKIP_MPICXX
CU_SRC := $(wildcard kernels/cuda/*.cu)
CU_TRANSLATED := $(patsubst %,$(BUILD)/%,$(wildcard kernels/cuda/*.cuh))
EMU_OBJ := $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard regression/gpu/emu/*.cpp))
LDLIBS += -lstdc++
endif

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c src/nn/*.c)) $(wildcard kernels/*.c kernels/cpu/*.c parallel/*.c io/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.cu.o) $(EMU_OBJ)
UNIT_SRC := $(wildcard regression/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
E2E_SRC := $(wildcard regression/e2e/*.c)
E2E_BIN := $(E2E_SRC:regression/e2e/%.c=$(BUILD)/e2e/%)
GPU_BIN := $(if $(filter 1,$(CUDA) $(EMU)),$(BUILD)/gpu/check_kernels)
BENCH_SRC := $(wildcard regression/bench/*.c)
BENCH_BIN := $(BENCH_SRC:regression/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps check unit e2e demo bench clean format lint regression gpu
.DEFAULT_GOAL := all

all: $(BUILD)/lola

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(MPICC) $(CFLAGS) -c $< -o $@

ifeq ($(EMU),1)
# The emulator's build of a .cu: launches rewritten (translate.py), then C++
# with cuemu.h first; the rewritten headers sit beside the rewritten sources.
.SECONDARY: $(CU_TRANSLATED)
$(BUILD)/%.cuh: %.cuh regression/gpu/emu/translate.py
	@mkdir -p $(dir $@)
	@python3 regression/gpu/emu/translate.py $< $@

$(BUILD)/%.cu.o: %.cu regression/gpu/emu/translate.py regression/gpu/emu/cuemu.h | $(CU_TRANSLATED)
	@mkdir -p $(dir $@)
	@echo "  EMU   $<"
	@python3 regression/gpu/emu/translate.py $< $(@:.o=.cpp)
	@$(MPICXX) $(EMU_CXXFLAGS) -iquote $(dir $<) -include regression/gpu/emu/cuemu.h -MF $(@:.o=.d) -MT $@ \
	  -c $(@:.o=.cpp) -o $@

# The emulator's own checks: a CUDA program of its own, linked with it alone.
$(BUILD)/gpu/emu_selftest: regression/gpu/emu/selftest.cu $(EMU_OBJ) regression/gpu/emu/translate.py \
                           regression/gpu/emu/cuemu.h
	@mkdir -p $(dir $@)
	@echo "  EMU   $<"
	@python3 regression/gpu/emu/translate.py $< $@.cpp
	@$(MPICXX) $(EMU_CXXFLAGS) -include regression/gpu/emu/cuemu.h -MF $@.d -MT $@ $@.cpp $(EMU_OBJ) -o $@

$(BUILD)/regression/gpu/emu/%.o: regression/gpu/emu/%.cpp regression/gpu/emu/cuemu.h
	@mkdir -p $(dir $@)
	@echo "  CXX   $<"
	@$(MPICXX) $(EMU_CXXFLAGS) -c $< -o $@
else
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	@echo "  NVCC  $<"
	@$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@
endif

$(BUILD)/liblola.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR    $@"
	@ar rcs $@ $^

$(BUILD)/lola: $(BUILD)/src/main.o $(BUILD)/liblola.a
	@echo "  LINK  $@"
	@$(MPICC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/liblola.a
	@echo "  LINK  $@"
	@$(MPICC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/%: regression/bench/%.c $(BUILD)/liblola.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(MPICC) $(CFLAGS) $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -o $@

$(BUILD)/e2e/%: regression/e2e/%.c $(BUILD)/liblola.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(MPICC) $(CFLAGS) $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) -o $@

# GPU checks link only what they use (no MPI, no HDF5), so they run on bare GPU machines.
$(BUILD)/gpu/%: regression/gpu/%.c $(BUILD)/liblola.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(MPICC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed $(filter %.c %.a,$^) $(LDLIBS) -o $@

gpu: $(BUILD)/lola $(GPU_BIN)

emu:
	@$(MAKE) --no-print-directory EMU=1 BUILD=build/emu build/emu/lola \
	  $(addprefix build/emu/gpu/,emu_selftest check_kernels check_kernels_conv check_kernels_sampler \
	                             check_attention_tc check_step)

deps:
	@bash regression/deps.sh $(DEBIAN_PACKAGES)

# The tests: unit tests on 1, 2 and 3 ranks, then the end-to-end scripts.
# The CUDA backend on the CPU emulator joins make check where it builds: x86-64,
# the CUDA toolkit's headers and an MPI C++ compiler (not under the sanitizers,
# which its hand-switched stacks confuse).
EMU_CHECK :=
ifeq ($(SAN)$(EMU),00)
EMU_CHECK := $(and $(filter x86_64,$(shell uname -m)),\
  $(wildcard $(CUDA_HOME)/include/cuda_runtime.h /usr/local/cuda/include/cuda_runtime.h),\
  $(shell command -v $(or $(MPICXX),mpicxx) 2>/dev/null))
endif

check: deps
	@bash regression/deps.sh $(TEST_PACKAGES)
	@$(MAKE) --no-print-directory $(BUILD)/lola $(BUILD)/unit $(E2E_BIN)
	@$(if $(EMU_CHECK),$(MAKE) --no-print-directory emu,true)
	@BUILD=$(BUILD) SAN=$(SAN) EMU_BUILD=$(if $(EMU_CHECK),build/emu) bash regression/run_checks.sh

unit: $(BUILD)/unit
	@BUILD=$(BUILD) SAN=$(SAN) ONLY=unit bash regression/run_checks.sh

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/lola
	@bash regression/demo.sh $(BUILD)/lola inputs/demo.cfg

bench: $(BUILD)/lola $(BENCH_BIN)

# Batch regression suites: reference figures with tolerances (UPDATE=1 rewrites them).
regression: deps
	@$(MAKE) --no-print-directory $(BUILD)/lola
	@BUILD=$(BUILD) UPDATE=$(UPDATE) bash regression/suites/run.sh

clean:
	rm -rf build

format:
	clang-format -i $(shell git ls-files '*.c' '*.h' '*.cu' '*.cuh' '*.cpp')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -I. $(LIB_SRC) src/main.c

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
