"""pinhan.infer: decoding a trained model (constrained beam search, encoder-head fast path, top-1 conversion)."""
