# bench/workload.mk — include from the top Makefile (or from a bench/Makefile):
#   make workload [K=8 M=8 FUNCS=800 BODY=10]   genlibs tree in $(BUILD)/workload
#   make slowfs                                  $(BUILD)/bench/slowfs/slowfs (needs libfuse3-dev)
WORKLOAD_DIR   := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
WORKLOAD_BUILD := $(abspath $(or $(BUILD),$(WORKLOAD_DIR)/../build))

.PHONY: workload slowfs
workload:
	$(MAKE) --no-print-directory -C $(WORKLOAD_DIR)/genlibs OUT=$(WORKLOAD_BUILD)/workload
slowfs:
	$(MAKE) --no-print-directory -C $(WORKLOAD_DIR)/slowfs OUT=$(WORKLOAD_BUILD)/bench/slowfs
