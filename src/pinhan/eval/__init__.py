"""pinhan.eval: metrics and evaluation runs.

Metric definitions (``metrics``), benchmark set files (``sets``), runs of a model on a set
(``run``), reports (``report``) and the choice of an n-gram's fusion weights on dev clauses
(``tuning``). eval may import every layer below it (errors, ids, config, pinyin, model, data, lm,
infer, deploy); never train, serve or cli.
"""
