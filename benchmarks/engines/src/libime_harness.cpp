// libime (the engine of fcitx5's Pinyin input method): top-1 whole-input conversion.
//
// Set-up mirrors a fresh fcitx5 "pinyin" profile: the system dictionary sc.dict, the
// zh_CN language model wrapped in an empty UserLanguageModel (no history file is read or
// written), and fcitx5's default fuzzy flags (VE_UE, CommonTypo, Inner, InnerShort,
// PartialFinal). No user dictionary, no learning (PinyinContext::learn() is never
// called), no preceding context (each input starts from an empty context).
//
// Conversion: type the whole string into a fresh PinyinContext; the answer is the first
// candidate (the best whole-input sentence), PinyinContext::sentence(). With LIBIME_TOPK=k
// (k > 1) the answer is the first k candidates as fcitx5 lists them, joined by '|'.
#include <libime/core/languagemodel.h>
#include <libime/core/userlanguagemodel.h>
#include <libime/pinyin/pinyincontext.h>
#include <libime/pinyin/pinyindictionary.h>
#include <libime/pinyin/pinyinencoder.h>
#include <libime/pinyin/pinyinime.h>

#include <cstdlib>
#include <memory>

#include "harness_common.h"

#ifndef LIBIME_DICT
#define LIBIME_DICT "/usr/share/libime/sc.dict"
#endif

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "libime_harness",
                           "Environment: LIBIME_DICT overrides the system dictionary path; LIBIME_TOPK=k prints the first k\n"
                           "candidates joined by '|'.\n"))
        return 0;
    const char *dict_path = std::getenv("LIBIME_DICT") ? std::getenv("LIBIME_DICT") : LIBIME_DICT;
    const int topk = std::getenv("LIBIME_TOPK") ? std::atoi(std::getenv("LIBIME_TOPK")) : 1;
    try {
        auto lm_file = libime::DefaultLanguageModelResolver::instance().languageModelFileForLanguage("zh_CN");
        auto ime = std::make_unique<libime::PinyinIME>(std::make_unique<libime::PinyinDictionary>(),
                                                       std::make_unique<libime::UserLanguageModel>(lm_file));
        ime->dict()->load(libime::PinyinDictionary::SystemDict, dict_path, libime::PinyinDictFormat::Binary);
        libime::PinyinFuzzyFlags flags{libime::PinyinFuzzyFlag::VE_UE, libime::PinyinFuzzyFlag::CommonTypo,
                                       libime::PinyinFuzzyFlag::Inner, libime::PinyinFuzzyFlag::InnerShort,
                                       libime::PinyinFuzzyFlag::PartialFinal};
        ime->setFuzzyFlags(flags);
        ime->setNBest(2);             // fcitx5 default
        ime->setScoreFilter(1.0F);    // as fcitx5 sets it; does not affect the top-1 sentence

        libime::PinyinContext context(ime.get());
        return peers::run("libime", args, [&](const std::string &input, const peers::Timed &timed) {
            std::string result;
            context.clear();
            timed([&] {
                context.type(input);
                if (topk <= 1) {
                    result = context.sentence();
                    return;
                }
                const auto &candidates = context.candidates();
                for (size_t i = 0; i < candidates.size() && i < static_cast<size_t>(topk); ++i) {
                    result += (i ? "|" : "") + candidates[i].toString();
                }
            });
            context.clear();
            return result;
        });
    } catch (const std::exception &e) {
        std::fprintf(stderr, "libime_harness: set-up failed: %s\n", e.what());
        return 1;
    }
}
