"""pinhan.train: training, shared by ``pinhan train`` and ``pinhan finetune``.

What lives here: the run's config (``config``: RunConfig), run directories (``runs``: new run,
``resume``), the loop (``loop``: Trainer, fit), checkpoints with their training state
(``checkpoint``), the data a run reads (``data``), dev evaluation (``dev_eval``), metrics logs
(``logging``), the learning-rate schedule (``schedule``), fine-tuning and LoRA (``finetune``,
``lora``) and everything distributed (``distributed``).

It may import everything below it: errors, ids, config, pinyin, model, data, lm, infer (decoding
for dev evaluation) and eval.metrics; never serve or cli. The runtime never imports it.
"""
