"""The service's settings (:class:`ServeConfig`) and the JSON shapes of its requests and responses.

Request models are built per app from a :class:`ServeConfig` (:func:`build_request_models`), so
the limits a deployment sets are the ones it enforces and the ones its OpenAPI schema shows.
Every request model is strict: unknown fields, wrong types (``"5"`` for an integer, ``5`` for a
string), out-of-range numbers and over-long strings are rejected with a 422 that names the field.
No request names a file or a model: the model is fixed when the server starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from pinhan.errors import ConfigError
from pinhan.infer.config import InferenceConfig
from pinhan.pinyin.fuzzy import FUZZY_RULES

MODES = ("accurate", "fast")
USER_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
USER_DESCRIPTION = ("an opaque user id chosen by the client (8-64 of A-Z a-z 0-9 _ -): conversions use, and "
                    "/v1/learn adds to, that user's history")
TONE_STYLES = ("number", "mark", "none")
FUZZY_NAMES = (*FUZZY_RULES, "all")


@dataclass
class ServeConfig:
    """Limits and batching settings of the service (``pinhan serve key=value`` overrides them).

    Args:
        max_pinyin_chars: longest ``pinyin`` of ``/v1/convert``, in characters (the model also
            limits it to ``max_syllables`` syllables).
        max_context_chars: longest ``context`` of ``/v1/convert`` and ``/v1/predict`` (the model reads only its last
            ``max_context`` characters; the rest is accepted and ignored).
        max_text_chars: longest ``text`` of ``/v1/g2p`` and ``prefix`` of ``/v1/generate``.
        max_k: the most candidates one conversion (or next words one prediction) may ask for.
        max_new_tokens: the most characters one ``/v1/generate`` may ask for.
        max_beams: the most beams of ``/v1/generate`` (each beam costs a decoder row).
        batch_window_ms: after the first request of a batch arrives, the inference worker waits
            this long for more before it runs the batch (0: take only what is already queued).
        max_batch: the most requests one model call takes. Larger batches pad more and leave the
            CPU caches: on 2 cores the ``small`` model converts fastest per item at about 8 in
            accurate mode and 1-4 in fast mode (benchmarks/RESULTS.md, load test).
        max_queue: requests waiting for the inference worker; more are answered 503 at once.
        timeout_s: a request not answered within this many seconds gets a 504.
        max_body_bytes: larger request bodies are answered 413 before they are read.
        header_timeout_s: a connection that has not sent a whole request head this many seconds
            after it opened, or after its last answer (an idle keep-alive connection), is closed.
        body_timeout_s: a request whose body has not all arrived this many seconds after its head
            is answered 408 and its connection closed.
        max_connections: open connections per worker process; a request on one more is answered
            503 and its connection closed. Each connection holds a file descriptor:
            ``pinhan serve`` raises the open-file limit to fit, or says it cannot.
        max_users: user histories held in memory per worker (least recently used dropped first;
            with ``--user-dir`` they are reloaded from their files when needed).
        max_user_words: words and phrases one user history keeps (bigrams: twice as many).
        max_learn_pieces: the most pieces one ``/v1/learn`` may carry.
        infer: the model's decoding settings (``infer:`` in yaml, ``infer.KEY=V`` overrides); None
            keeps the defaults the model directory loads with.
    """

    max_pinyin_chars: int = 128
    max_context_chars: int = 256
    max_text_chars: int = 256
    max_k: int = 20
    max_new_tokens: int = 64
    max_beams: int = 8
    batch_window_ms: float = 2.0
    max_batch: int = 8
    max_queue: int = 256
    timeout_s: float = 10.0
    max_body_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 256
    max_users: int = 1000
    max_user_words: int = 5000
    max_learn_pieces: int = 32
    infer: InferenceConfig | None = None

    def __post_init__(self) -> None:
        if self.infer is not None and not isinstance(self.infer, InferenceConfig):
            raise ConfigError(f"serve setting infer must be an InferenceConfig or None, got {self.infer!r}")
        for f in dataclasses.fields(self):
            if f.name == "infer":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"serve setting {f.name} must be a number >= 0, got {value!r}")
        for name in ("max_pinyin_chars", "max_text_chars", "max_k", "max_new_tokens", "max_beams", "max_batch",
                     "max_queue", "max_body_bytes", "max_connections", "max_users", "max_user_words",
                     "max_learn_pieces"):
            if getattr(self, name) < 1:
                raise ConfigError(f"serve setting {name} must be at least 1")
        if not isinstance(self.max_connections, int):
            raise ConfigError(f"serve setting max_connections must be a whole number, got {self.max_connections!r}")
        for name in ("timeout_s", "header_timeout_s", "body_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"serve setting {name} must be > 0")


# --- requests -----------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def build_request_models(config: ServeConfig) -> SimpleNamespace:
    """``ConvertRequest``, ``G2PRequest``, ``GenerateRequest`` and ``PredictRequest`` with ``config``'s limits."""
    c = config
    convert = create_model(
        "ConvertRequest", __base__=_Strict, __doc__="Pinyin as typed -> ranked hanzi candidates.",
        pinyin=(str, Field(max_length=c.max_pinyin_chars, examples=["nihao"],
                           description="pinyin as typed: zhongguowenhua, zg'wh, xi'an, zhong1guo2")),
        context=(str, Field("", max_length=c.max_context_chars, description="committed text before the input")),
        k=(int, Field(5, ge=1, le=c.max_k, description="candidates to return")),
        mode=(Literal[MODES], Field("accurate", description="accurate: the decoder's beam search; fast: the encoder head (with the model's n-gram, a beam search over it)")),
        fuzzy=(list[Literal[FUZZY_NAMES]], Field(default_factory=list, max_length=len(FUZZY_NAMES),
                                                  description="fuzzy rules (z-zh, an-ang, ...) or 'all'")),
        user=(str | None, Field(None, pattern=USER_PATTERN, description=USER_DESCRIPTION)),
    )
    g2p = create_model(
        "G2PRequest", __base__=_Strict, __doc__="Hanzi -> pinyin, polyphones resolved in context.",
        text=(str, Field(max_length=c.max_text_chars, description="text to read", examples=["银行行长"])),
        tones=(Literal[TONE_STYLES], Field("number", description="number: hang2; mark: háng; none: hang")),
    )
    generate = create_model(
        "GenerateRequest", __base__=_Strict, __doc__="Continuations of a hanzi prefix.",
        prefix=(str, Field(max_length=c.max_text_chars, description="text to continue", examples=["中国"])),
        max_new_tokens=(int, Field(8, ge=1, le=c.max_new_tokens, description="characters to add")),
        temperature=(float, Field(0.0, ge=0.0, le=10.0, allow_inf_nan=False, description="0: greedy; >0: sampled")),
        top_p=(float, Field(1.0, gt=0.0, le=1.0, allow_inf_nan=False, description="nucleus sampling mass")),
        num_beams=(int, Field(1, ge=1, le=c.max_beams, description="beam search with this many beams (>1)")),
        pinyin_hint=(str | None, Field(None, max_length=c.max_pinyin_chars,
                                       description="the continuation must read as this pinyin")),
        seed=(int, Field(0, ge=0, le=2**31 - 1, description="sampling seed (same seed, same sample)")),
    )
    predict = create_model(
        "PredictRequest", __base__=_Strict, __doc__="The likeliest next words after committed text (联想).",
        context=(str, Field(max_length=c.max_context_chars, examples=["中国"],
                            description="committed text; empty: the start of a sentence")),
        k=(int, Field(10, ge=1, le=c.max_k, description="next words to return")),
    )
    piece = create_model(
        "LearnPiece", __base__=_Strict, __doc__="One committed candidate: its text and its pinyin, one entry per character.",
        text=(str, Field(min_length=1, max_length=c.max_text_chars, examples=["意大利"])),
        pinyin=(list[Annotated[str, Field(max_length=16)]], Field(max_length=c.max_text_chars,
                                                                  examples=[["yi4", "da4", "li4"]])),
    )
    learn = create_model(
        "LearnRequest", __base__=_Strict, __doc__="What a user committed for one conversion, to learn from.",
        user=(str, Field(pattern=USER_PATTERN, description=USER_DESCRIPTION)),
        pieces=(list[piece], Field(min_length=1, max_length=c.max_learn_pieces,
                                   description="the candidates picked, in order, until the input was all committed")),
    )
    return SimpleNamespace(ConvertRequest=convert, G2PRequest=g2p, GenerateRequest=generate, PredictRequest=predict,
                           LearnRequest=learn)


# --- responses ----------------------------------------------------------------------------------

class CandidateOut(BaseModel):
    text: str = Field(description="the hanzi (pass-through input copied as typed)")
    score: float | None = Field(description="log-probability; comparable only between candidates of one input "
                                            "(null if not finite)")
    pinyin: list[str] = Field(description="per character: the toned syllable it was read as")
    consumed: int = Field(description="characters of the input this candidate covers, from the start")
    kind: Literal["whole", "prefix"] = Field(description="whole: covers the input; prefix: its first syllables")


class ConvertResponse(BaseModel):
    pinyin: str
    context: str
    candidates: list[CandidateOut]


class G2PResponse(BaseModel):
    text: str
    pinyin: list[str] = Field(description="one syllable per hanzi")
    aligned: list[str] = Field(description="one entry per character: its syllable, or the character itself")
    polyphonic: list[int] = Field(description="indices (into text) of hanzi with more than one reading")
    readings: list[str] = Field(description="one reading per hanzi with its lexical tone (pinyin writes neutral tones "
                                            "and erhua as a dictionary does)")


class ContinuationOut(BaseModel):
    text: str = Field(description="the new characters only")
    score: float | None = Field(description="log-probability (null if not finite)")


class GenerateResponse(BaseModel):
    prefix: str
    continuations: list[ContinuationOut]


class PredictionOut(BaseModel):
    text: str = Field(description="a whole word of the model's word lexicon")
    score: float | None = Field(description="log-probability (word n-gram + weighted model); comparable only "
                                            "between predictions of one context (null if not finite)")


class PredictResponse(BaseModel):
    context: str
    candidates: list[PredictionOut]


class LearnResponse(BaseModel):
    user: str
    words: int = Field(description="words and phrases the user's history holds now")


class ForgetResponse(BaseModel):
    user: str
    forgotten: bool = Field(description="whether there was a history to forget")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    backend: str
    queued: int = Field(description="requests waiting for the inference worker")
    limits: dict[str, float]


class ErrorBody(BaseModel):
    """Every error answer: ``error`` is a stable code, ``message`` says what is wrong."""

    error: str = Field(description="invalid_request, invalid_input, not_found, too_large, overloaded, timeout, ...")
    message: str
    details: list[dict] | None = Field(None, description="per-field problems of an invalid request")
    span: list[int] | None = Field(None, description="for unreadable pinyin: [start, end) of the offending text")
