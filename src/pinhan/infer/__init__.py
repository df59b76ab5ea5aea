"""pinhan.infer: decoding a trained model, and the model object users hold.

Where things live:

- ``config``: :class:`InferenceConfig`, every decoding setting and limit with its default (the only place).
- ``bundle``: :class:`ModelBundle`, what a loaded model's tasks share (runner, vocab, lexicon,
  lookup tables, word list, n-gram), built once per load.
- ``api``: :class:`Pinhan`, the model object (``convert``, ``g2p``, ``generate``, ``score``,
  ``rescore``, ``session``, ``with_config``, ``with_ngram``). ``pinhan.load`` (``pinhan.loader``)
  builds it.
- ``runner``: the :class:`Runner` interface (numpy in, scores out) and its torch implementation;
  the onnxruntime one lives in ``pinhan.deploy.onnx``.
- ``inputs``: requests -> encoder rows (context annotation, pinyin keys); ``results``: what the
  API returns.
- ``search/``: constraints, the decoder's beam search and sampling, the encoder head's fast path,
  n-gram fusion.
- ``tasks/``: conversion, g2p, continuation, input-method sessions, each on top of ``search``.

May import: pinyin, model, data (vocabulary, lexicon, tables, annotation; never the training
example sampler), lm. Never deploy, eval, train, serve or cli.
"""
