"""Property tests for the parser (hypothesis), and an exact check of the k-best search
against brute-force enumeration of every reading."""

import itertools
import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pinhan.pinyin import SYLLABLES, TONED_SYLLABLES, PinyinError, PinyinParser, parse, to_tone_marks
from pinhan.pinyin.inventory import ALIASES, INITIALS, MARGINAL, SYLLABLES_BY_INITIAL
from pinhan.pinyin.scan import APOSTROPHES
from pinhan.pinyin.table import MARGINAL_WEIGHT

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARSER = PinyinParser()
# Characters that exercise every branch of the scanner and the lattice.
PINYIN_CHARS = list("zhongguaeiuvxlnmrjqyw'  ü:ǘāéě\u0304\u0308ê12305，中A")
PINYINISH = st.text(alphabet=st.sampled_from(PINYIN_CHARS), max_size=40)


def check_path_invariants(text, paths, max_paths):
    assert len(paths) <= max_paths
    assert len(set(paths)) == len(paths)
    keys = [p.rank_key for p in paths]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for path in paths:
        covered = [False] * len(text)
        position = 0
        for seg in path:
            assert position <= seg.start < seg.end <= len(text)
            position = seg.end
            covered[seg.start : seg.end] = [True] * (seg.end - seg.start)
            if seg.kind == "passthrough":
                assert seg.text == text[seg.start : seg.end] and not seg.syllables and seg.tone is None
            else:
                assert seg.syllables and seg.syllables <= set(SYLLABLES)
                assert seg.tone in (None, 1, 2, 3, 4, 5)
        # Only separators are left out of every segment.
        assert all(c.isspace() or c in APOSTROPHES for c, seen in zip(text, covered) if not seen)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_gives_paths_or_a_pinyin_error(text):
    """(a) Arbitrary Unicode: nothing but PinyinError escapes, and output is well formed."""
    try:
        paths = parse(text)
    except PinyinError as err:
        assert 0 <= err.span[0] <= err.span[1] <= len(text)
        return
    check_path_invariants(text, paths, 8)


@SETTINGS
@given(PINYINISH, st.sampled_from([(), "all"]), st.booleans())
def test_pinyin_like_text_gives_paths_or_a_pinyin_error(text, fuzzy, abbreviations):
    """(a) The same on text made of the characters that exercise the parser."""
    try:
        paths = parse(text, fuzzy=fuzzy, abbreviations=abbreviations, max_paths=16)
    except PinyinError as err:
        assert 0 <= err.span[0] < err.span[1] <= len(text)
        event("error")
        return
    check_path_invariants(text, paths, 16)


syllable_lists = st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=12)


def kind_of(syllable):
    """m and n alone are abbreviations that also cover the syllables m (呒) and n (嗯)."""
    return "abbrev" if syllable in ("m", "n") else "syllable"


@SETTINGS
@given(syllable_lists)
def test_apostrophe_joined_syllables_read_back_first(seq):
    """(b) Syllables joined by apostrophes parse to exactly that sequence, first."""
    best = parse("'".join(seq))[0]
    assert [(s.kind, s.text) for s in best] == [(kind_of(s), s) for s in seq]


@SETTINGS
@given(syllable_lists)
def test_concatenated_syllables_are_read_or_outranked(seq):
    """(c) The plain concatenation always has the sequence as a reading (read_as
    succeeds), and parse(max_paths=64) either returns it or returns 64 readings that
    all rank strictly before it: the k-best search never drops it wrongly."""
    text = "".join(seq)
    truth = PARSER.read_as(text, seq)
    assert [(s.kind, s.text) for s in truth] == [(kind_of(s), s) for s in seq]
    paths = PARSER.parse(text, max_paths=64)
    if truth in paths:
        event("truth among the top 64")
    else:
        event("truth outranked by 64 readings")
        assert len(paths) == 64 and all(p.rank_key < truth.rank_key for p in paths)


def test_concatenation_usually_found():
    """A fixed sample for (c): the truth is actually returned, not just outranked."""
    for seq in (["xi", "an"], ["zhong", "guo", "wen", "hua"], ["ni", "hao"], ["fang", "an"], ["he", "nan"]):
        assert tuple(seq) in [p.texts for p in PARSER.parse("".join(seq), max_paths=64)]


@SETTINGS
@given(st.lists(st.sampled_from(TONED_SYLLABLES), min_size=1, max_size=12), st.sampled_from(["'", "", " "]))
def test_toned_sequences_keep_their_tones(seq, joiner):
    """(d) Tone digits (joined by apostrophes, spaces or nothing: a digit ends a
    syllable) and tone marks (apostrophe-joined) survive parsing."""
    want = [(s[:-1], int(s[-1])) for s in seq]
    best = parse(joiner.join(seq))[0]
    assert [(s.text, s.tone) for s in best] == want
    marked = parse("'".join(to_tone_marks(s) for s in seq))[0]
    assert [(s.text, s.tone) for s in marked] == [(t, None if n == 5 else n) for t, n in want]


# -- brute force ------------------------------------------------------------------------

SPELL = {**{s: s for s in SYLLABLES}, **ALIASES}
WEIGHT = {s: (MARGINAL_WEIGHT if s in MARGINAL else 1.0) for s in SYLLABLES}
LOG_TOTAL = math.log(sum(WEIGHT.values()))


def micro_nats(syllables):
    return int(round(max(LOG_TOTAL - math.log(sum(WEIGHT[s] for s in syllables)), 0.0) * 1e6))


def run_readings(run, offset, at_end):
    """Every reading of one letter run, by plain recursion (independent of the parser)."""
    out = []

    def extend(i, acc):
        if i == len(run):
            out.append(acc)
            return
        for j in range(i + 1, len(run) + 1):
            piece = run[i:j]
            span = (offset + i, offset + j)
            if piece in SPELL and piece not in INITIALS:
                extend(j, acc + [("syllable", SPELL[piece], *span, micro_nats({SPELL[piece]}))])
            if piece in INITIALS:  # z, c, s abbreviate zh, ch, sh too; m and n cover the syllables m, n
                covered = SYLLABLES_BY_INITIAL[piece] | (SYLLABLES_BY_INITIAL[piece + "h"] if piece in ("z", "c", "s") else set())
                covered |= {SPELL[piece]} if piece in SPELL else set()
                extend(j, acc + [("abbrev", piece, *span, micro_nats(covered))])
            if j == len(run) and at_end and piece not in SPELL and piece not in INITIALS:
                done = {SPELL[s] for s in SPELL if s.startswith(piece) and s != piece}
                if done:
                    text = piece[0] + "u" + piece[2:] if piece[1:2] == "v" and piece[0] in "jqxy" else piece
                    extend(j, acc + [("partial", text, *span, micro_nats(done))])

    extend(0, [])
    return out


def brute_force(text):
    """All readings of an apostrophe-separated ASCII string, ranked as documented."""
    runs, offset = [], 0
    for piece in text.split("'"):
        if piece:
            runs.append((piece, offset))
        offset += len(piece) + 1
    per_run = []
    for n, (piece, start) in enumerate(runs):
        readings = run_readings(piece, start, at_end=(n == len(runs) - 1))
        per_run.append(readings or [[]])  # no reading: the run passes through
    ranked = []
    for combo in itertools.product(*per_run):
        segs = [s for reading in combo for s in reading]
        key = (len(segs), sum(s[0] != "syllable" for s in segs), sum(s[4] for s in segs),
               tuple((-s[3], s[0] != "syllable") for s in segs))  # fmt: skip
        ranked.append((key, [s[:4] for s in segs], -key[2] / 1e6))
    ranked.sort(key=lambda r: r[0])
    return ranked


@SETTINGS
@given(st.text(alphabet="zhngaoeiuvxlsjmr'", min_size=1, max_size=10), st.sampled_from([1, 8, 40]))
def test_k_best_equals_brute_force(text, k):
    """The k-best DP returns exactly the first k readings of the full ranking."""
    expected = brute_force(text)[:k]
    got = parse(text, max_paths=k)
    as_tuples = [[(s.kind, s.text, s.start, s.end) for s in p if s.kind != "passthrough"] for p in got]
    assert (as_tuples or [[]]) == [segs for _, segs, _ in expected]  # [[]]: nothing readable
    if got:
        assert [p.score for p in got] == [score for _, _, score in expected]
