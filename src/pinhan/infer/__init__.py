"""pinhan.infer: decoding a trained model (constrained greedy and non-autoregressive so far)."""
