# wharf: `make run` starts the suite on this machine, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := runc busybox-static iproute2 curl git chromium nftables redis-server mmdebstrap docker-registry nginx \
	skopeo podman buildah
# nginx: the multi-host test runs its own (the package's service, started by the install, is disabled);
# skopeo, podman, buildah: the registry v2 tests drive them as clients
BENCH_PACKAGES := podman buildah docker-registry skopeo wrk
BUSYBOX := .cache/images/busybox.tar
RUN_ROOT ?= /var/lib/wharf
RUN_SOCK ?= /run/wharf/engine.sock
RUN_BRIDGE ?= wharf0
RUN_SUBNET ?= 172.30.0.0/16

.PHONY: setup system-packages bench-packages venv compose-venv run test lint bench clean

setup: system-packages venv $(BUSYBOX)

# idempotent: installs only what is missing
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		case " $$missing " in *" nginx "*) \
			command -v systemctl >/dev/null 2>&1 && systemctl disable --now nginx >/dev/null 2>&1 || true;; \
		esac; \
	fi

# bin/wharf without the site module's start-up (cli/src/wharf_cli/launcher.py): after uv sync, which may
# write the installer's console script again; rewrites nothing when it is up to date
venv: $(VENV)/.synced
	@$(PY) -m wharf_cli.launcher

$(VENV)/.synced: pyproject.toml uv.lock */pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
	uv sync --frozen --python python3 --compile-bytecode
	@# the CLI starts on every command: ship its bytecode (this environment may not write it)
	$(PY) -m compileall -q -j 0 libs cli services >/dev/null
	@touch $@

# docker-compose 1.29 in a virtualenv of its own (.cache/compose-venv; the tests and the bench build it
# on first use): prints the path of its docker-compose
compose-venv:
	@python3 deploy/compose/compose_venv.py

$(BUSYBOX): deploy/images/busybox/build.py
	python3 deploy/images/busybox/build.py --if-missing --output $@

# the engine in the foreground; the hub (v1 index, web, API), the registry (index mode), Redis (on a
# unix socket, no persistence) and one builder worker beside it, stopped (and waited for) when the
# engine stops or make is interrupted. On first start the hub prints its first administrator;
# busybox is seeded into the engine and pushed to the hub as the official image, so a fresh
# engine's `wharf pull busybox` fetches it from here; then (in the background, built once per machine
# and cached under /var/cache/wharf/images) the official debian, python, redis and ambassador images.
run: RUN_REGISTRY_PORT ?= 5000
run: RUN_REGISTRY_ROOT ?= /var/lib/wharf-registry
run: RUN_HUB_PORT ?= 8080
run: RUN_HUB_ROOT ?= /var/lib/wharf-hub
run: RUN_BUILDER_ROOT ?= /var/lib/wharf-builder
run: RUN_OFFICIAL_IMAGES ?= debian,python,redis,ambassador
run: setup
	@mkdir -p $(dir $(RUN_SOCK)) $(RUN_REGISTRY_ROOT) $(RUN_HUB_ROOT) $(RUN_BUILDER_ROOT)
	@WHARF_HUB_PORT=$(RUN_HUB_PORT) $(VENV)/bin/wharf-hub bootstrap --data-root $(RUN_HUB_ROOT)
	@( for i in $$(seq 1 100); do curl -sf --unix-socket $(RUN_SOCK) http://x/_ping >/dev/null 2>&1 && \
	     curl -sf http://127.0.0.1:$(RUN_HUB_PORT)/v1/_ping >/dev/null 2>&1 && break; sleep 0.1; done; \
	   $(PY) deploy/images/busybox/seed.py --host unix://$(RUN_SOCK) --image $(BUSYBOX) \
	     --push-to-hub http://127.0.0.1:$(RUN_HUB_PORT) --hub-credentials $(RUN_HUB_ROOT)/initial-admin.json; \
	   $(PY) deploy/images/seed_official.py --host unix://$(RUN_SOCK) --images "$(RUN_OFFICIAL_IMAGES)" \
	     --push-to-hub http://127.0.0.1:$(RUN_HUB_PORT) --hub-credentials $(RUN_HUB_ROOT)/initial-admin.json ) &
	@redis-server --port 0 --unixsocket $(RUN_BUILDER_ROOT)/redis.sock --unixsocketperm 700 --save "" \
	    --appendonly no --dir $(RUN_BUILDER_ROOT) --logfile $(RUN_BUILDER_ROOT)/redis.log & REDIS=$$!; \
	export WHARF_HUB_BUILDER__BROKER_URL=redis+socket://$(RUN_BUILDER_ROOT)/redis.sock; \
	$(VENV)/bin/wharf-hub --host 127.0.0.1 --port $(RUN_HUB_PORT) --data-root $(RUN_HUB_ROOT) \
	    --registry-url http://127.0.0.1:$(RUN_REGISTRY_PORT) --registry-endpoint 127.0.0.1:$(RUN_REGISTRY_PORT) & HUB=$$!; \
	WHARF_REGISTRY_BEARER__CERTIFICATE=$(RUN_HUB_ROOT)/bearer-signing.crt \
	$(VENV)/bin/wharf-registry --host 127.0.0.1 --port $(RUN_REGISTRY_PORT) --data-root $(RUN_REGISTRY_ROOT) \
	    --index-public-key $(RUN_HUB_ROOT)/token-signing.pub.pem --index-url http://127.0.0.1:$(RUN_HUB_PORT) & REG=$$!; \
	( for i in $$(seq 1 100); do [ -S $(RUN_BUILDER_ROOT)/redis.sock ] && [ -f $(RUN_HUB_ROOT)/builder-secret ] && break; sleep 0.1; done; \
	  exec $(VENV)/bin/wharf-builder worker --broker-url redis+socket://$(RUN_BUILDER_ROOT)/redis.sock \
	    --engine-host unix://$(RUN_SOCK) --hub-url http://127.0.0.1:$(RUN_HUB_PORT) \
	    --hub-secret-file $(RUN_HUB_ROOT)/builder-secret --workdir $(RUN_BUILDER_ROOT)/work -c 1 ) & BUILDER=$$!; \
	trap 'kill $$BUILDER $$REG $$HUB 2>/dev/null; wait $$BUILDER $$REG $$HUB 2>/dev/null; kill $$REDIS 2>/dev/null; wait $$REDIS 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(VENV)/bin/wharf-engine --data-root $(RUN_ROOT) -H unix://$(RUN_SOCK) --bridge $(RUN_BRIDGE) --subnet $(RUN_SUBNET) \
	    --default-index http://127.0.0.1:$(RUN_HUB_PORT)

test: setup
	$(VENV)/bin/pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/common/src libs/client/src cli/src services/engine/src services/registry/src services/hub/src \
		services/builder/src bench deploy
	@for t in libs/common/tests libs/client/tests cli/tests services/engine/tests services/registry/tests services/hub/tests \
		services/builder/tests \
		tests/integration; do \
		$(VENV)/bin/mypy $$t || exit 1; done
	$(PY) deploy/lint/module_size.py
	$(PY) deploy/lint/outside_paths.py

# the peers measured beside wharf (only `make bench` needs them)
bench-packages:
	@missing=""; for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		case " $$missing " in *" nginx "*) \
			command -v systemctl >/dev/null 2>&1 && systemctl disable --now nginx >/dev/null 2>&1 || true;; \
		esac; \
	fi

# Each bench writes its JSON (--json), its output (.log) and its exit status (.exit) into one run
# directory; bench/goals.py then prints the goals of issues #16 and #11 from them (met, not met, or not
# measured and why). A bench that fails is recorded and the next one runs. `make bench BENCHES="hub_bench
# memory_bench"` runs some; BENCH_RUN names the directory. Benches not (yet) in the tree are skipped.
BENCHES ?= bench cli_bench build_bench net_bench network_bench registry_bench registry_v2_bench hub_bench \
	hub_scale_bench builder_bench compose_bench memory_bench
BENCH_NO_JSON := builder_bench
bench: BENCH_RUN := .cache/bench/$(shell date -u +%Y%m%d-%H%M%S)
bench: setup bench-packages
	@mkdir -p $(BENCH_RUN); echo "bench: run directory $(BENCH_RUN)"; \
	for b in $(BENCHES); do \
		if [ ! -f bench/$$b.py ]; then echo "bench: no bench/$$b.py here, skipped"; continue; fi; \
		json="--json $(BENCH_RUN)/$$b.json"; case " $(BENCH_NO_JSON) " in *" $$b "*) json="";; esac; \
		echo "== bench/$$b.py"; \
		PYTHONUNBUFFERED=1 $(PY) bench/$$b.py $$json 2>&1 | tee $(BENCH_RUN)/$$b.log; \
		echo $${PIPESTATUS[0]} > $(BENCH_RUN)/$$b.exit; \
	done; \
	echo; $(PY) bench/goals.py $(BENCH_RUN) --json $(BENCH_RUN)/goals.json | tee $(BENCH_RUN)/goals.txt

clean:
	rm -rf $(VENV) .cache
