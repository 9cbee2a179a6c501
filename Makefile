# Developer tasks. `make` (or `make help`) lists them; each target's `##` comment is its help.

PYTHON ?= .venv/bin/python

.DEFAULT_GOAL := help
.PHONY: help k8s-e2e

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

k8s-e2e: ## run Kubernetes Jobs on the cluster in KUBECONFIG (or ~/.kube/config); needs the runner image (CSVANALYST_K8S_IMAGE) and datasets in it or on CSVANALYST_K8S_DATA_VOLUME_CLAIM
	CSVANALYST_K8S_E2E=1 $(PYTHON) -m pytest -m k8s_real tests/integration/test_kubernetes_real.py -v
