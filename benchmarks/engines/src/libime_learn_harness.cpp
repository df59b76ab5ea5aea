// libime with its user history: the simulated user of benchmarks/adaptation.py.
//
// Set-up as libime_harness.cpp (sc.dict, zh_CN LM in a UserLanguageModel, fcitx5's fuzzy flags,
// NBest 2), with an empty history and user dictionary; nothing is read from or written to disk.
//
// Protocol: stdin, one clause a line: "pinyin<TAB>gold" (toneless pinyin typed without
// separators, the gold hanzi). stdout, one line per clause: "top1<TAB>keys<TAB>fallback":
//   top1      the first candidate after typing the whole pinyin (before any pick);
//   keys      keystrokes: the pinyin's letters, plus per pick 1 + rank / PAGE (page-downs);
//   fallback  1 when some stretch of the gold was in no candidate (the user typed it some other
//             way: its letters again + 1 per hanzi are counted, and the clause is not learned).
// The user picks, at each step, the first candidate that equals the rest of the gold, else the
// longest candidate that is a prefix of it (earliest on ties). With LIBIME_LEARN=1 the history
// learns each clause once it is fully picked (PinyinContext::learn(): the picked words go into
// the history bigram, a phrase picked in pieces into the user dictionary, as fcitx5 does on
// commit). Learning off: learn() is never called.
#include <libime/core/historybigram.h>
#include <libime/core/languagemodel.h>
#include <libime/core/userlanguagemodel.h>
#include <libime/pinyin/pinyincontext.h>
#include <libime/pinyin/pinyindictionary.h>
#include <libime/pinyin/pinyinime.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#ifndef LIBIME_DICT
#define LIBIME_DICT "/usr/share/libime/sc.dict"
#endif

static const size_t PAGE = 5;  // fcitx5's default page size

static size_t utf8_chars(const std::string &s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

int main() {
    const char *dict_path = std::getenv("LIBIME_DICT") ? std::getenv("LIBIME_DICT") : LIBIME_DICT;
    const bool learn = std::getenv("LIBIME_LEARN") && std::string(std::getenv("LIBIME_LEARN")) == "1";
    try {
        auto lm_file = libime::DefaultLanguageModelResolver::instance().languageModelFileForLanguage("zh_CN");
        auto ime = std::make_unique<libime::PinyinIME>(std::make_unique<libime::PinyinDictionary>(),
                                                       std::make_unique<libime::UserLanguageModel>(lm_file));
        ime->dict()->load(libime::PinyinDictionary::SystemDict, dict_path, libime::PinyinDictFormat::Binary);
        libime::PinyinFuzzyFlags flags{libime::PinyinFuzzyFlag::VE_UE, libime::PinyinFuzzyFlag::CommonTypo,
                                       libime::PinyinFuzzyFlag::Inner, libime::PinyinFuzzyFlag::InnerShort,
                                       libime::PinyinFuzzyFlag::PartialFinal};
        ime->setFuzzyFlags(flags);
        ime->setNBest(2);
        ime->setScoreFilter(1.0F);
        libime::PinyinContext context(ime.get());
        std::string line;
        while (std::getline(std::cin, line)) {
            auto tab = line.find('\t');
            std::string pinyin = line.substr(0, tab), gold = tab == std::string::npos ? "" : line.substr(tab + 1);
            context.clear();
            context.type(pinyin);
            const auto &first = context.candidates();
            std::string top1 = first.empty() ? "" : first[0].toString();
            size_t keys = pinyin.size();
            std::string rest = gold;
            bool fallback = false;
            while (!rest.empty() && !context.selected()) {
                const auto &cands = context.candidates();
                long pick = -1;
                size_t best_len = 0;
                for (size_t i = 0; i < cands.size(); ++i) {
                    std::string text = cands[i].toString();
                    if (text == rest) { pick = static_cast<long>(i); break; }
                    if (!text.empty() && text.size() > best_len && rest.compare(0, text.size(), text) == 0) {
                        pick = static_cast<long>(i);
                        best_len = text.size();
                    }
                }
                if (pick < 0) break;
                rest = rest.substr(cands[pick].toString().size());
                keys += 1 + static_cast<size_t>(pick) / PAGE;
                context.select(static_cast<size_t>(pick));
            }
            if (!rest.empty() || !context.selected()) {
                fallback = true;
                keys += pinyin.size() + utf8_chars(rest.empty() ? gold : rest);
            } else if (learn) {
                context.learn();
            }
            std::printf("%s\t%zu\t%d\n", top1.c_str(), keys, fallback ? 1 : 0);
            std::fflush(stdout);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "libime_learn_harness: set-up failed: %s\n", e.what());
        return 1;
    }
    return 0;
}
