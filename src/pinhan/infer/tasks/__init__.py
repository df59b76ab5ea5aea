"""The model's jobs, each a small class built from a :class:`~pinhan.infer.bundle.ModelBundle` and
the model's :class:`~pinhan.infer.config.InferenceConfig`: ``convert`` (pinyin -> ranked
candidates), ``g2p`` (hanzi -> pinyin), ``generate`` (continuation, scoring of given text),
``session`` (an input method's state over ``Pinhan``). They import ``search``, never each other
(a session holds the model object)."""
