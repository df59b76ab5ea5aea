"""pinhan.deploy.onnx: the ONNX export of a model directory (``export``: graphs, int8, parity
check, the export made once into the cache) and the :class:`~pinhan.infer.runner.Runner` that runs
it on onnxruntime (``runner``).

It may import model, data, lm and infer's Runner interface (and the torch runner, the reference
the export is checked against); never train, eval, serve or cli.
"""
