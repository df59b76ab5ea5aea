"""Special ids shared by the data pipeline and the model.

The model only ever sees integer ids; these constants fix what the low ids mean so that
``pinhan.data`` (which builds the vocabularies) and ``pinhan.model`` agree. Import them
from here instead of repeating the numbers.

Hanzi (``n_chars``) and toned-syllable (``n_syllables``) vocabularies start with five specials::

    PAD=0  UNK=1  MASK=2  BOS=3  EOS=4  then real entries from FIRST_REGULAR=5

Factored pinyin input (``initials``, ``finals``, ``tones``) uses two specials::

    NONE=0 (padding, or a pass-through character such as punctuation: all three factors 0)
    UNKNOWN=1 (the factor was not typed: abbreviated ``zh`` has an unknown final and tone)

Tones 1..5 (5 = neutral) are ids 2..6 (``tone_id``), so ``n_tones`` is 7.
Targets use ``IGNORE`` (-100, PyTorch's default ``ignore_index``) where no loss is taken.
"""

from __future__ import annotations

# --- hanzi and toned-syllable vocabularies -------------------------------------------
PAD = 0
UNK = 1
MASK = 2
BOS = 3
EOS = 4
N_SPECIAL = 5
FIRST_REGULAR = N_SPECIAL  # id of the first real character / syllable

# --- factored pinyin input (initials, finals, tones) ---------------------------------
NONE = 0  # padding or a pass-through character (same id as PAD)
UNKNOWN = 1  # factor not given by the typed input
N_FACTOR_SPECIAL = 2
TONE_OFFSET = 1  # tone t in 1..5 has id t + TONE_OFFSET
N_TONES = 5 + N_FACTOR_SPECIAL  # 7

# --- targets ---------------------------------------------------------------------------
IGNORE = -100

# --- segments (encoder positions) -------------------------------------------------------
SEG_PAD = 0
SEG_CONTEXT = 1
SEG_TARGET = 2
N_SEGMENTS = 3

# --- tasks -------------------------------------------------------------------------------
TASK_P2H = 0
TASK_H2P = 1
TASK_GEN = 2
TASK_NAMES = ("p2h", "h2p", "gen")
N_TASKS = len(TASK_NAMES)


def tone_id(tone: int) -> int:
    """Return the input id of tone ``tone`` (1..5, 5 = neutral): ``tone_id(1) == 2``.

    Raises:
        ValueError: if ``tone`` is not in 1..5.
    """
    if isinstance(tone, bool) or not isinstance(tone, int) or not 1 <= tone <= 5:
        raise ValueError(f"tone must be an int in 1..5 (5 = neutral), got {tone!r}")
    return tone + TONE_OFFSET


def task_id(name: str) -> int:
    """Return the id of a task name (``"p2h"``, ``"h2p"`` or ``"gen"``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return TASK_NAMES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown task {name!r}; expected one of {', '.join(TASK_NAMES)}"
        ) from None


__all__ = [
    "PAD", "UNK", "MASK", "BOS", "EOS", "N_SPECIAL", "FIRST_REGULAR",
    "NONE", "UNKNOWN", "N_FACTOR_SPECIAL", "TONE_OFFSET", "N_TONES",
    "IGNORE",
    "SEG_PAD", "SEG_CONTEXT", "SEG_TARGET", "N_SEGMENTS",
    "TASK_P2H", "TASK_H2P", "TASK_GEN", "TASK_NAMES", "N_TASKS",
    "tone_id", "task_id",
]  # fmt: skip
