model:  ## train and ship the default model (scripts/release.sh; hours on a 2-core CPU)
	bash scripts/release.sh

test:  ## the test suite (what CI runs)
	bash scripts/test.sh

.PHONY: model test
