"""Every decoding setting of a loaded model, with its default, in one frozen dataclass.

Each task (conversion, g2p, continuation, sessions) reads its settings from the one
:class:`InferenceConfig` its model was loaded with; nothing below repeats a default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from pinhan.errors import ConfigError

SCORINGS = ("logits", "softmax")
NGRAM_WEIGHTS = {"lm_weight": "fusion_weight", "fast_lm_weight": "fast_fusion_weight",
                 "gen_lm_weight": "gen_fusion_weight"}  # setting -> the weight stored with the n-gram


@dataclass(frozen=True)
class InferenceConfig:
    """Limits and decoding settings of a loaded model.

    Args:
        max_context: characters of committed context the model reads (older text is cut); capped
            at the context length the model was trained with (``config.json``: recipe.examples),
            since more than it ever saw costs accuracy (benchmarks/RESULTS.md, "The release n-gram").
        max_paths: segmentations of the keystrokes decoded per conversion: the best gives the
            candidates; more add alternatives (xi'an for xian; readings that split off a lone
            letter, ni ha o, are skipped) at a model row each. 1: a second one hardly moved top-1
            or top-5 on dev clauses and cost 15-65 % more time (RESULTS.md, "Service load test").
            Typing ``xi'an`` always gives the other reading.
        beam_size: beams per segmentation in accurate mode (also the number of whole-input
            alternatives per segmentation); 8 is where more beams stop paying for their time with
            the n-gram (RESULTS.md, "The release n-gram").
        fast_beam_size: beams of fast mode's search over the encoder head with the n-gram (numpy
            only, so cheap).
        max_syllables: longest pinyin input, in syllables; longer input is an error.
        max_chars: longest text for ``g2p`` and prefix for ``generate``.
        max_new_tokens: the most characters one ``generate`` call may ask for.
        margin: whole-input candidates scoring within this (natural log) of the best are listed
            before prefix candidates.
        abbreviated_margin: the same for input the word lattice reads as initials (``zgwh``):
            wider, since whole readings of initials are many and close (4-initial dev prefixes
            top-5 18.1 -> 20.2 %, 2 initials 35.6 -> 35.3; RESULTS.md "Word lattice").
        lm_weight: weight of the model directory's character n-gram (``lm.safetensors``, from
            ``pinhan lm``) in accurate conversion: None takes the weight stored with it (chosen on
            dev data), 0 turns the n-gram off.
        fast_lm_weight: the same for fast mode, where the n-gram turns the encoder head's
            per-position scores into a beam search (no decoder runs).
        gen_lm_weight: the same for ``generate``'s greedy and beam search.
        scoring: how accurate and fast conversion rank hypotheses: ``"logits"``, summed raw
            logits of the allowed hanzi within a segmentation (the parser's best segmentation
            gives the first candidates), or ``"softmax"``, full-softmax log-probabilities,
            comparable across segmentations at several times the cost; logits scored higher on
            dev clauses (benchmarks/RESULTS.md).
        batch_rows: model rows per runner call when a batch of inputs is decoded.
        max_run: longest hanzi run ``g2p`` decodes as one input (longer runs are cut, each piece
            seeing the text before it as context).
        words: convert over the model directory's word lattice (``words.json.gz`` and
            ``words.safetensors`` from ``pinhan lm``) when it has one, for input made of letters
            and apostrophes; other input (tone digits or marks, fuzzy rules, pass-through text)
            and models without a word model use the character decoder.
        word_beam: states kept per letter position in the lattice search. 8 converted 1,500 dev
            clauses as 16 did, in both modes, at about 3/4 of fast mode's time (RESULTS.md,
            "Lattice speed").
        word_abbreviated_beam: the same for input typed with two or more abbreviated syllables
            (``zgwh``; a last syllable only begun does not count): initials leave many more
            readings open, and 8 states lost a point of abbreviated clauses.
        word_nbest: lattice paths the Transformer rescores (and whole-input candidates offered):
            the N best of the whole graph of kept states, so they may differ anywhere (RESULTS.md,
            "N best of the whole lattice").
        word_model_weight: accurate mode: weight of the decoder's summed raw logits of a path's
            hanzi against the word n-gram's score; None takes the weight stored with the word
            model (chosen on dev data), 0 ranks by the lattice alone.
        word_head_weight: the same for fast mode, with the encoder head's logits.
        homophone_weight: accurate mode: weight of the homophone chooser's log-probability of each
            read path's hanzi given the characters on both sides (``homophones.safetensors``,
            :mod:`pinhan.lm.homophones`); None takes the weight stored with it (chosen on dev
            clauses by ``pinhan lm --kind homophones``), 0 turns it off.
        context_history: characters of the context (the text before the cursor, its last ones)
            learned as a short history that the word lattice mixes in, alone or after a user's
            history (:mod:`pinhan.infer.context_history`); 0: off. On 1,000 dev clauses each of
            People's Daily / reviews / internet news, accurate mode: the last 64 characters +0.32
            / +0.20 / +1.99 points of character accuracy, 256 of the whole context +0.45 / +0.33 /
            +3.12 (512: +0.42 / +0.35 / +3.74; RESULTS.md, "The context as a history, and erhua").
            The service accepts contexts of up to 256 characters by default.
        context_weight: the context history's share in the lattice's mixture, as
            :class:`~pinhan.infer.user.UserSettings`' ``weight``: 0.1 and 0.2 scored alike on dev
            clauses, 0.4 lower.
        script: the script of conversion candidates: ``simplified``, ``traditional`` (OpenCC
            applied to every candidate) or ``any`` (as the model gives them; see pinhan.infer.script).
        word_rescore: the Transformer reads this many of the N best (distinct texts, best first;
            the decoder in accurate mode, the encoder head in fast mode); the others keep the
            lattice's score and rank after them. In accurate mode each path is a decoder row; 8
            scored as 16 on dev clauses at half the time (RESULTS.md, "Word lattice"), and fast
            mode reading all 16 cost a tenth of its time for nothing (RESULTS.md, "N best of the
            whole lattice").
        word_head_rows: fast mode: the encoder reads at most this many distinct segmentations
            (the best paths' first); paths of other segmentations keep the lattice's score and
            rank after the read ones. 0: every segmentation among the N best. One pass costs
            ~1.5 ms and reading every one gained nothing on dev clauses (RESULTS.md, "Word lattice").
        word_abbreviated_head_rows: the same for input typed with two or more abbreviated
            syllables (``zgwh``; 0: every segmentation). Initials are a few positions, so more rows
            cost little, and they differ where a typed z, c or s is read as zh, ch or sh: with one
            row 最高 for ``zg`` ranked below every path read as 这个 / 中国. On 5,000 dev clauses'
            first 2 / 3 / 4 syllables as initials, fast mode's top-5 went 34.4 / 18.1 / 18.4 ->
            35.1 / 18.7 / 18.7 % with the default model (RESULTS.md, "Names, a reranker").
        word_head_context: fast mode: characters of committed context the encoder reads beside
            the typed input (at most ``max_context``; 0: none). The encoder's time grows with
            every position it reads; 16 converted dev clauses as 32 did, at 0.7x the encoder
            time (RESULTS.md, "Fast mode's share of the context").
        g2p_phrases: ``g2p`` takes the reading a phrase of pypinyin's phrase dictionary fixes
            before any model runs (on a cpp-dev fold: 93.7 % -> 96.3 % with the head;
            benchmarks/RESULTS.md, "Polyphones (issue 16)").
        g2p_phrase_agreement: a pypinyin phrase fixes a character's reading only where CC-CEDICT's
            phrases (matched the same way) give it no other: where the two dictionaries disagree
            (差价 ``cha4`` / ``cha1``, 类似 ``si4`` / ``shi4``) the head decides. On cpp-dev they
            disagree at 83 of the 4,645 labelled characters pypinyin fixes (pypinyin right at 46,
            CC-CEDICT at 34); three folds 5,552 -> 5,559 right of 5,730, none worse (RESULTS.md,
            "Polyphones, sixth part").
        g2p_separable: a polyphonic verb left open before 了 / 过 takes its reading in the phrase
            it makes with the character after them (还了书 as 还书 ``huan2``; not where the
            character before makes a word with it, as 进行了规定). On 14,635 inews lines it
            changed 26 of the head's readings, 21 to the right one; it changed no reading of the
            three cpp-dev folds (RESULTS.md, "Polyphones, sixth part").
        g2p_adverbial_de: 地 after an adverbial reads ``de5``, the structural particle (慢慢地走,
            认真地学习, 预见性地警告), over a phrase that takes it with the next character (地学)
            and over the head, which reads ``di4`` there: where a dictionary word (or ``X性``)
            ends right before it, 地 is in no word with what precedes it (当地, 场地, 目的地; 心地,
            极地, 实地, 性地 aside: 小心地, 积极地), a hanzi other than 的 / 是 / 为 / 和 / 与 / 及 / 之
            follows, the word before names no place of land (一块地, 户籍地) and 地 begins no place
            word (地区, 地方, 地铁, ...). In 6,216 inews sentences holding 7,446 地 it changed 983
            readings, all from ``di4``; 55 of a hand-checked 60 of them are the particle
            (RESULTS.md, "Polyphones, ninth part").
        g2p_function_words: function words the head reads by their in-word readings where no
            dictionary word holds them are fixed by rules over their context
            (:mod:`pinhan.infer.tasks.function_words`): the modal 应 ``ying1`` (损失应由谁承担), 为
            "for" ``wei4`` (为你扛起, 将为大家), the modal 得 ``dei3`` (我得走了) and the particle
            before a complement ``de5`` (说得对), the measure word 只 ``zhi1`` (这只小狗), 都 after
            its subject or open outside a word ``dou1`` (他们都会来, over 都会), 没 "not" ``mei2``
            over 没收 / 没过 where its next two characters make a word (没收到, 没过多久), the everyday 壳
            ``ke2`` (借壳), 倒 "pour" ``dao4`` (倒杯水) and 重 after a
            degree adverb ``zhong4`` (太重了), a repeated or tried verb (量一量 ``liang2``, 数了数
            ``shu3``, 称一下 ``cheng1``; 教 before a person ``jiao1``) and a settling neighbour
            (睡个好觉 ``jiao4``, 冲着 ``chong4``). In 8,000 inews sentences the first eight changed 139
            readings, 107 of the 112 checked by hand rightly; the later ones 18 of three other
            8,000, 17 rightly; on three cpp-dev folds all of them changed three readings (two to
            the gold reading, one from it) (RESULTS.md, "Polyphones, tenth part"). Then the
            adjectives 差 ``cha4`` and 累 ``lei4`` where their context says so (服务太差, 信号差,
            又累又饿), 少 ``shao3`` (少吃, 山多地少), outside words 难 ``nan2``, 咋 ``za3``, 没 ``mei2``,
            挑 ``tiao1`` and the particle 吧 ``ba5`` at a clause's end (太难了, 不咋样, 一直没时间, 挑了一条),
            了 and 着 after a verb's 不 / 得 ``liao3``, ``zhao2`` (不得了, 睡不着), and the verbs 藏
            ``cang2`` (藏在, 藏着), 粘 ``zhan1`` (粘在), 弄 ``nong4`` (弄干净), 长 ``zhang3`` (长高),
            冲 before a person ``chong4``, 盛 ``cheng2`` (盛饭), 假 "leave" ``jia4`` (三天假) and 好好
            ``hao3 hao3`` over 你好 + 好学 (你好好学习), 还 before 了 ``huan2`` (把钱还了), 睡不着觉
            ``jiao4``, 挨打 ``ai2``, 塞进 ``sai1``, 咽下 ``yan4``, 很倔 ``jue4``, and from cpp-dev fold
            errors 盛米饭 ``cheng2``, 所藏 ``cang2``, 撒上 ``sa3``, 切成 ``qie1``, 哄他 ``hong3``, 炸至
            ``zha2``, 刨出 ``pao2``, 得较 ``de5``.
            Shaped and checked on
            inews, reviews and People's Daily dev sentences (RESULTS.md, "Polyphones, eleventh part").
        g2p_memory: a polyphone beside a neighbour that the head's labelled examples hold beside
            it in a word (at least twice, always with the same reading) takes that reading, over
            a phrase's and the head's (闷热 ``men1``, 挣脱 ``zheng1``: the polyphone head's
            :class:`~pinhan.model.reading_memory.ReadingMemory`; only with ``g2p_head``). On three
            cpp-dev folds it changed 21 readings, all to the gold one (RESULTS.md, "Polyphones,
            seventh part").
        g2p_head: ``g2p`` decides the remaining polyphones with the model directory's polyphone
            head (``polyphone.safetensors``) when it has one; False (or no head): the h2p decoder.
        g2p_dictionary_weight: bonus added to the head's score (log-odds against its best) of the
            reading a CC-CEDICT phrase gives a character the first dictionary left open; 0 turns
            it off. 2: on three cpp-dev folds 0 / 0.5 / 1 / 1.5 / 2 read within two items of
            5,730 (1 was chosen so), 4 one item fewer, 100 (an override) 95.9 % against 96.6 on
            one fold; on 3,000 inews sentences 2 instead of 1 changed 10 readings, 9 rightly (长得
            ``zhang3``, 典藏 ``cang2``, 打麻将 ``jiang4``; RESULTS.md, "Polyphones, tenth part").
        g2p_settled_share: a polyphone whose most frequent reading has at least this share of its
            train counts (the lexicon's) takes that reading without the polyphone head (年 ``nian2``:
            ``ning4`` never occurs); its run is encoded only if another position needs the head.
            1 (only readings never seen in train): on cpp-dev 3.8 instead of 9.2 head positions a
            sentence at 98.64 % instead of 98.65 % (0.999: 3.2 at 98.61 %); above 1: the head
            decides every polyphone it was trained on.
        g2p_settled_count: train occurrences a character needs before ``g2p_settled_share``
            applies to it: a rare one's unseen reading is no evidence (酊 is seen 10 times, all
            ``ding3``; 酊剂 reads ``ding1``).
        g2p_dictionary_tones: ``g2p`` writes the decided readings' tones as a dictionary does
            (:mod:`pinhan.pinyin.conventions`): the neutral tone where a CC-CEDICT word has it
            (晚上 ``wan3 shang5``), a neutral 儿 in a word as erhua ``r5``, 一 and 不 in their
            citation tones (``yi1``, ``bu4``) rather than the sandhi some phrase lists write
            (一个 ``yi2``). False: the readings as the phrase lists, head and counts give them.
        g2p_context: characters of the text before a hanzi run that ``g2p`` encodes with it (at
            most ``max_context``). 0: on a cpp-dev fold the head read 96.0 % with 0 and 96.1 % with
            32, at two thirds of the time per sentence (RESULTS.md, "Polyphones (issue 16)"); the
            head is trained with the same setting.
        predict_k: next words ``predict`` offers by default.
        predict_rescore: the word n-gram's best next words the Transformer rescores in context
            (at least ``k`` are).
        predict_model_weight: weight of the Transformer's log-probability of a next word's
            characters after the context against the word n-gram's log-probability, in
            ``predict`` and in word-by-word ``generate``; 0 ranks by the n-gram alone. 0: on 1,986
            dev contexts every weight tried (0.1-1, all characters or the first alone) scored at
            or below the n-gram alone, at 40-150 times its latency (benchmarks/RESULTS.md,
            "Prediction (issue 17)").
        predict_model_chars: characters of each next word the Transformer scores (1: the first
            alone, one decoder step for all words; 0: all).
        gen_words: ``generate`` continues word by word (whole lexicon words from a word
            boundary, as ``predict`` ranks them) when the model has a word model; False: the
            character decoder with the character n-gram.
    """

    max_context: int = 64
    max_paths: int = 1
    beam_size: int = 8
    fast_beam_size: int = 16
    max_syllables: int = 64
    max_chars: int = 256
    max_new_tokens: int = 64
    margin: float = 3.0
    abbreviated_margin: float = 5.0
    lm_weight: float | None = None
    fast_lm_weight: float | None = None
    gen_lm_weight: float | None = None
    scoring: str = "logits"
    batch_rows: int = 64
    max_run: int = 64
    words: bool = True
    word_beam: int = 8
    word_abbreviated_beam: int = 16
    word_nbest: int = 16
    word_model_weight: float | None = None
    word_head_weight: float | None = None
    homophone_weight: float | None = None
    word_rescore: int = 8
    context_history: int = 256
    context_weight: float = 0.1
    script: str = "simplified"
    word_head_rows: int = 1
    word_abbreviated_head_rows: int = 0
    word_head_context: int = 16
    g2p_phrases: bool = True
    g2p_phrase_agreement: bool = True
    g2p_separable: bool = True
    g2p_adverbial_de: bool = True
    g2p_function_words: bool = True
    g2p_memory: bool = True
    g2p_head: bool = True
    g2p_dictionary_weight: float = 2.0
    g2p_settled_share: float = 1.0
    g2p_settled_count: int = 1000
    g2p_dictionary_tones: bool = True
    g2p_context: int = 0
    predict_k: int = 10
    predict_rescore: int = 32
    predict_model_weight: float = 0.0
    predict_model_chars: int = 0
    gen_words: bool = True

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ConfigError(f"inference setting scoring must be one of {', '.join(SCORINGS)}, got {self.scoring!r}")
        for f in fields(self):
            if f.name == "scoring":
                continue
            if f.name == "script":
                if self.script not in ("simplified", "traditional", "any"):
                    raise ConfigError(f"inference setting script must be simplified, traditional or any, got {self.script!r}")
                continue
            if f.name in ("words", "gen_words", "g2p_phrases", "g2p_phrase_agreement", "g2p_separable", "g2p_adverbial_de",
                          "g2p_function_words", "g2p_memory", "g2p_head", "g2p_dictionary_tones"):
                if not isinstance(getattr(self, f.name), bool):
                    raise ConfigError(f"inference setting {f.name} must be true or false, got {getattr(self, f.name)!r}")
                continue
            value = getattr(self, f.name)
            if value is None and f.name in ("lm_weight", "fast_lm_weight", "gen_lm_weight", "word_model_weight",
                                             "word_head_weight", "homophone_weight"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"inference setting {f.name} must be a number >= 0, got {value!r}")
        for name in ("max_paths", "beam_size", "fast_beam_size", "max_syllables", "max_chars", "max_new_tokens",
                     "batch_rows", "max_run", "g2p_settled_count", "word_beam", "word_abbreviated_beam", "word_nbest", "word_rescore", "predict_k", "predict_rescore"):
            if not isinstance(getattr(self, name), int):  # counts: a float beam would reach the compiled search
                raise ConfigError(f"inference setting {name} must be a whole number, got {getattr(self, name)!r}")
            if getattr(self, name) < 1:
                raise ConfigError(f"inference setting {name} must be at least 1")
        for name in ("context_history", "word_head_context", "word_head_rows", "word_abbreviated_head_rows"):
            if not isinstance(getattr(self, name), int):
                raise ConfigError(f"inference setting {name} must be a whole number, got {getattr(self, name)!r}")

    def ngram_weight(self, setting: str, lm) -> float:
        """The n-gram weight a task uses: the setting's, else the one stored with the n-gram
        (chosen on dev data by ``pinhan lm``); 0 without an n-gram."""
        value = getattr(self, setting)
        if lm is None:
            return 0.0
        return float(lm.info.get(NGRAM_WEIGHTS[setting], 0.0) if value is None else value)

    def uses_ngram(self) -> bool:
        """False when every n-gram weight is set to 0 (the n-gram need not be loaded)."""
        return any(getattr(self, setting) != 0 for setting in NGRAM_WEIGHTS)
