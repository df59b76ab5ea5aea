// libime (fcitx5's Pinyin engine): next-word prediction (联想) after committed text.
//
// Set-up mirrors fcitx5's pinyin engine: libime::Prediction over the zh_CN language model
// (zh_CN.lm, whose StaticLanguageModelFile also reads the prediction table zh_CN.lm.predict),
// wrapped in an empty UserLanguageModel (no history is read, written or learnt).
//
// Protocol (harness_common.h): stdin one context per line; stdout the predicted words, best
// first, joined by '|'. A line with spaces is taken as the committed words (what fcitx5 passes:
// the words the user picked); a line without spaces is segmented into the language model's words
// first (maximum unigram score over every dictionary word of up to 8 characters, the way an
// input method's own commits would be cut). The language-model state is the sentence start
// followed by those words.
//
// Environment: LIBIME_PREDICT_K=k words printed (default 10); LIBIME_PREDICT_SIZE=n the size
// fcitx5 asks libime for (default 10, fcitx5's "PredictionSize"; libime then scans 2n entries of
// the prediction table in table order and ranks them by the model), 0 for the whole table entry.
#include <libime/core/languagemodel.h>
#include <libime/core/lattice.h>
#include <libime/core/prediction.h>
#include <libime/core/userlanguagemodel.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "harness_common.h"

namespace {

// UTF-8 code point boundaries of s (byte offsets, including s.size()).
std::vector<size_t> char_starts(const std::string &s) {
    std::vector<size_t> at;
    for (size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) at.push_back(i);
    at.push_back(s.size());
    return at;
}

// Maximum unigram score segmentation into the model's known words (a character no word covers
// stays alone, heavily penalised).
std::vector<std::string> segment(const libime::LanguageModel &model, const std::string &text) {
    const auto at = char_starts(text);
    const size_t n = at.size() - 1;
    std::vector<float> best(n + 1, -INFINITY);
    std::vector<size_t> back(n + 1, 0);
    best[0] = 0;
    for (size_t end = 1; end <= n; ++end) {
        for (size_t start = end > 8 ? end - 8 : 0; start < end; ++start) {
            std::string word = text.substr(at[start], at[end] - at[start]);
            auto idx = model.index(word);
            float score;
            if (model.isUnknown(idx, word)) {
                if (end - start > 1) continue;
                score = -100.0F;
            } else {
                score = model.singleWordScore(word);
            }
            if (best[start] + score > best[end]) {
                best[end] = best[start] + score;
                back[end] = start;
            }
        }
    }
    std::vector<std::string> words;
    for (size_t end = n; end > 0; end = back[end]) words.push_back(text.substr(at[back[end]], at[end] - at[back[end]]));
    return {words.rbegin(), words.rend()};
}

}  // namespace

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "libime_predict_harness",
                           "Prediction mode: each stdin line is a context (committed words separated by spaces, or\n"
                           "text to segment); each stdout line the predicted next words joined by '|'.\n"
                           "Environment: LIBIME_PREDICT_K (default 10), LIBIME_PREDICT_SIZE (default 10; 0: no limit).\n"))
        return 0;
    const int k = std::getenv("LIBIME_PREDICT_K") ? std::atoi(std::getenv("LIBIME_PREDICT_K")) : 10;
    const long size = std::getenv("LIBIME_PREDICT_SIZE") ? std::atol(std::getenv("LIBIME_PREDICT_SIZE")) : 10;
    try {
        auto lm_file = libime::DefaultLanguageModelResolver::instance().languageModelFileForLanguage("zh_CN");
        libime::UserLanguageModel model(lm_file);
        libime::Prediction prediction;
        prediction.setUserLanguageModel(&model);
        return peers::run("libime-predict", args, [&](const std::string &input, const peers::Timed &timed) {
            std::string result;
            timed([&] {
                std::vector<std::string> words;
                if (input.find(' ') != std::string::npos) {
                    std::istringstream in(input);
                    for (std::string w; in >> w;) words.push_back(w);
                } else {
                    words = segment(model, input);
                }
                libime::State state = model.beginState(), out;
                for (const auto &w : words) {
                    libime::WordNode node(w, model.index(w));
                    model.score(state, node, out);
                    state = out;
                }
                auto predicted = prediction.predict(state, words, size > 0 ? static_cast<size_t>(size) : static_cast<size_t>(-1) / 4);
                for (size_t i = 0; i < predicted.size() && i < static_cast<size_t>(k); ++i) result += (i ? "|" : "") + predicted[i];
            });
            return result;
        });
    } catch (const std::exception &e) {
        std::fprintf(stderr, "libime_predict_harness: set-up failed: %s\n", e.what());
        return 1;
    }
}
