# The README's two commands are `make run` and `make test`; both set up .venv first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Built-in data from Debian packages, fetched and unpacked without root (apt-get download + dpkg -x)
DEBIAN := $(VENV)/debian
# pinned: the same files, the same data version. wordnet-base: the text family's glosses;
# trans-de-en (GPL): the seq2seq family's Ding sentence pairs, extracted into data/, never committed;
# espeak-ng and flite (+ the libraries they load, PulseAudio's client included: espeak-ng links
# it even when it only writes files): the speech family's synthesised voices
DEBIAN_PACKAGES := wordnet-base=1:3.0-37 trans-de-en=1.9-6 \
	espeak-ng=1.51+dfsg-10+deb12u2 libespeak-ng1=1.51+dfsg-10+deb12u2 \
	espeak-ng-data=1.51+dfsg-10+deb12u2 libpcaudio0=1.2-2 libsonic0=0.2.0-12 \
	flite=2.2-5 libflite1=2.2-5 libasound2=1.2.8-1+b1 libpulse0=16.1+dfsg1-2+b1 \
	libasyncns0=0.8-6+b3 libsndfile1=1.2.0-1+deb12u1 libflac12=1.4.2+ds-2 libvorbis0a=1.3.7-1 \
	libvorbisenc2=1.3.7-1 libopus0=1.3.1-3 libogg0=1.3.5-3 libmpg123-0=1.31.2-1+deb12u1 \
	libmp3lame0=3.100-6
DEBIAN_STAMPS := $(foreach p,$(DEBIAN_PACKAGES),$(DEBIAN)/.$(firstword $(subst =, ,$(p))).stamp)
UV := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python

.PHONY: setup run test lint format ui serve bench clean

setup: $(STAMP) $(DEBIAN_STAMPS)

# one package per stamp: adding a package fetches only that one. The stamp is written only once
# the package is unpacked: a failed fetch (no apt, no index) warns and is tried again next time.
$(DEBIAN)/.%.stamp:
	mkdir -p $(DEBIAN)
	@cd $(DEBIAN) && name=$*; p='$(filter $*=%,$(DEBIAN_PACKAGES))'; rm -f $${name}_*.deb; \
	if ! command -v apt-get >/dev/null; then \
		echo "warning: no apt-get: Debian package $$name not fetched; the families whose built-in data it holds will say so"; \
	elif { apt-get download -q=2 $$p || { echo "warning: $$p not in the apt index; fetching the current $$name (its data version may differ)"; apt-get download -q=2 $$name; }; } \
		&& dpkg -x $${name}_*.deb $$name; then rm -f $${name}_*.deb; touch $(CURDIR)/$@; \
	else echo "warning: Debian package $$name not fetched (apt-get download + dpkg -x; try apt-get update): the families whose built-in data it holds will say so"; fi

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) -r requirements.lock
	# torch alone, without the CUDA wheels a resolver would pin: the CPU wheel, or CUDA's where present
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps torch==2.13.0
	$(UV) --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(BIN)/dlops run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: setup
	$(BIN)/dlops ui

serve: setup
	$(BIN)/dlops serve $(or $(FAMILY),mlp)

bench: setup
	$(BIN)/python benchmarks/train_overhead.py
	$(BIN)/python benchmarks/gate_bootstrap.py
	$(BIN)/python benchmarks/skip_path.py
	$(BIN)/python benchmarks/streaming.py
	$(BIN)/python benchmarks/refused_file.py
	$(BIN)/python benchmarks/read_only.py
	# the reference library users would pick instead; the benchmark's own dependency (its
	# dependencies are in the lock, torch apart)
	$(UV) --no-deps stable-baselines3==2.9.2
	$(BIN)/python benchmarks/agents_vs_sb3.py

clean:
	rm -rf $(VENV) .dlops .pytest_cache .ruff_cache
