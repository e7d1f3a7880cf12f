# Every command a developer needs. Python tools (moto, cfn-lint, cargo-lambda) live in a
# project-local virtual environment that `make setup` creates; Rust comes from rustup.
SHELL := /bin/bash
VENV := .venv
SETUP_DONE := $(VENV)/.setup-done
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

FUNCTION := sagemaker-async-autoscaling
ARM_TARGET := aarch64-unknown-linux-gnu

.PHONY: help setup build check test lint demo deploy bench sam-build cdk-check clean
# The SAM CLI pins its own versions of libraries the lint tools also use: a venv of its own.
SAM_VENV := .venv-sam
SAM_DONE := $(SAM_VENV)/.sam-done

## help: this list
help:
	@sed -n 's/^## //p' $(firstword $(MAKEFILE_LIST))

## setup: the virtual environment with moto, cfn-lint, cargo-lambda and the lint tools
setup: $(SETUP_DONE)

$(SETUP_DONE): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

## build: the arm64 release package for Lambda (target/lambda/sagemaker-async-autoscaling/bootstrap.zip)
build: setup
	rustup target add $(ARM_TARGET)
	cargo lambda build --release --arm64 --output-format zip

## check: the inner loop for a change of the function: its unit and integration tests (the emulator's own: make test)
check: setup
	cargo test --tests

## test: every test: make check, then the emulator's own tests
test: check
	$(VENV)/bin/python -m pytest -q tests/emulator

## lint: formatting, clippy, ruff (the Python), the templates, the workflows, and one version number
lint: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cfn-lint template.yaml examples/async-endpoint.yaml examples/minimal.yaml examples/inference-component.yaml
	actionlint .github/workflows/*.yml
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	scripts/check-version.sh

## demo: the whole lifecycle locally (moto + cargo lambda watch + cargo lambda invoke)
demo: setup
	scripts/demo.sh

## sam-build: sam build of template.yaml (installs the SAM CLI into .venv-sam on first use)
sam-build: setup $(SAM_DONE)
	rustup target add $(ARM_TARGET)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --beta-features

$(SAM_DONE): requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@

## cdk-check: the README's TypeScript CDK snippet, synthesized and cfn-linted (aws-cdk-lib from npm)
cdk-check: setup
	scripts/cdk-check.sh

## bench: the table in docs/performance.md (release builds, a cold build, then measurements)
bench: build
	cargo lambda build --release --x86-64 --lambda-dir target/lambda-x86_64
	rm -rf target/bench-cold
	start=$$(date +%s.%N); CARGO_TARGET_DIR=target/bench-cold cargo build --release --quiet; \
	  end=$$(date +%s.%N); rm -rf target/bench-cold; \
	  cargo run --quiet --example bench -- \
	    target/lambda-x86_64/$(FUNCTION)/bootstrap target/lambda/$(FUNCTION)/bootstrap.zip \
	    "$$(python3 -c "print($$end - $$start)")"

## deploy: cargo lambda deploy; needs IAM_ROLE=<role ARN> (see README, Deploy)
deploy: build
	@test -n "$(IAM_ROLE)" || { echo "Set IAM_ROLE to the function's role ARN (see README)"; exit 1; }
	cargo lambda deploy --iam-role "$(IAM_ROLE)" $(FUNCTION)

## clean: removes target/, the virtual environments and .aws-sam
clean:
	cargo clean
	rm -rf $(VENV) $(SAM_VENV) .aws-sam
