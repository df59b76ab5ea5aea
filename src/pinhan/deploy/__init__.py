"""pinhan.deploy: running a trained model outside PyTorch (``onnx/``: the ONNX export and the
onnxruntime runner).

A backend here implements infer's :class:`~pinhan.infer.runner.Runner` interface, so decoding runs
on it unchanged. deploy may import model, data, lm and infer (the Runner interface and the torch
runner it is checked against); never train, eval, serve or cli.
"""
