"""Search: turning model scores into hypotheses under a task's constraint.

``constraints`` (what each task may emit and feeds back), ``beam`` (the decoder's beam search,
sampling, teacher forcing), ``fast`` (the encoder head and its n-gram search), ``fusion`` (the
character n-gram's share of a step's score), ``common`` (hypotheses, traces, step inputs).
May import: numpy, pinhan.ids, pinhan.data.tables, pinhan.infer.runner; nothing of the tasks.
"""
