"""pinhan.eval: metrics and evaluation runs."""
