"""pinhan.lm: classical language models built from the same prepared data (for shallow fusion)."""
