// Google Pinyin (libgooglepinyin, the Android engine fork): top-1 whole-input conversion.
//
// Set-up: the system dictionary dict_pinyin.dat and a user dictionary file inside a
// temporary directory (removed at exit). Learning is off: im_choose() and im_flush_cache()
// are never called, so the user dictionary is never updated. The engine has no
// preceding-context input for conversion (im_get_predicts is only for next-word
// prediction and is not used); im_reset_search() starts every item afresh.
//
// Conversion: im_search() on the letters, then candidate 0, the sentence-level candidate.
// Spelling: this engine's table spells lüe/nüe as "lue"/"nue" and reads "lve" as lü+e, so
// "lve"/"nve" are rewritten to "lue"/"nue" first (except before "r", where "nver" is
// nü+er, 女儿); every other engine here accepts the "v" spelling as typed.
// The decoder accepts at most kMaxSearchSteps - 1 = 39 letters. Longer inputs (about 10 %
// of the benchmark items) are converted in windows, as a user would have to: decode the
// first 39 letters, keep the hanzi of the decoded syllables that end at least 6 letters
// (the longest syllable, "zhuang") before the window's end, minus one more (so a word
// across the cut can re-form), then continue from the letter after the kept syllables
// (im_get_spl_start_pos gives the syllable boundaries). All windows are inside the timing.
#include <googlepinyin/pinyinime.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "harness_common.h"

#ifndef GOOGLEPINYIN_DICT
#define GOOGLEPINYIN_DICT "/usr/lib/x86_64-linux-gnu/googlepinyin/data/dict_pinyin.dat"
#endif

using namespace ime_pinyin;

static const size_t kWindow = kMaxSearchSteps - 1;  // letters one search accepts
static const size_t kMargin = 6;  // letters of the longest syllable

// "lve"/"nve" -> "lue"/"nue" unless an "r" follows (see the header comment).
static std::string respell(const std::string &in) {
    std::string s = in;
    for (size_t i = 0; i + 2 < s.size(); ++i) {
        if ((s[i] == 'l' || s[i] == 'n') && s[i + 1] == 'v' && s[i + 2] == 'e' &&
            !(i + 3 < s.size() && s[i + 3] == 'r'))
            s[i + 1] = 'u';
    }
    return s;
}

// Converts `input` (letters only); window by window when it is longer than kWindow.
static std::u16string convert(const std::string &input) {
    std::u16string out;
    std::vector<char16> buf(kMaxSearchSteps * 4 + 8);
    size_t pos = 0;
    while (pos < input.size()) {
        size_t len = std::min(kWindow, input.size() - pos);
        im_reset_search();
        size_t n = im_search(input.c_str() + pos, len);
        std::u16string cand;
        if (n > 0 && im_get_candidate(0, buf.data(), buf.size() - 1)) {
            buf.back() = 0;
            for (size_t i = 0; buf[i]; ++i) cand += static_cast<char16_t>(buf[i]);
        }
        if (pos + len >= input.size()) {  // last window: take the whole sentence
            out += cand;
            break;
        }
        const uint16 *starts = nullptr;
        size_t syllables = im_get_spl_start_pos(starts);
        size_t keep = 0;
        while (starts && keep < syllables && starts[keep + 1] + kMargin <= len) ++keep;
        if (keep > 1) --keep;
        keep = std::min(keep, cand.size());
        size_t advance = (starts && keep > 0) ? starts[keep] : 0;
        if (keep == 0 || advance == 0) {  // cannot segment: give up on the rest
            out += cand;
            break;
        }
        out += cand.substr(0, keep);
        pos += advance;
    }
    return out;
}

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "googlepinyin_harness",
                           "Environment: GOOGLEPINYIN_DICT overrides the system dictionary path.\n"))
        return 0;
    const char *sys = std::getenv("GOOGLEPINYIN_DICT") ? std::getenv("GOOGLEPINYIN_DICT") : GOOGLEPINYIN_DICT;
    char tmpl[] = "/tmp/peers-googlepinyin-XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("googlepinyin_harness: mkdtemp");
        return 1;
    }
    std::string userdir = tmpl;
    std::string usr = userdir + "/user_dict.dat";
    int rc = 1;
    if (!im_open_decoder(sys, usr.c_str())) {
        std::fprintf(stderr, "googlepinyin_harness: im_open_decoder(%s) failed\n", sys);
    } else {
        rc = peers::run("googlepinyin", args, [&](const std::string &input, const peers::Timed &timed) {
            std::u16string result;
            std::string letters = respell(input);
            timed([&] { result = convert(letters); });
            return peers::utf16_to_utf8(result.data(), result.size());
        });
        im_close_decoder();
    }
    std::error_code ec;
    std::filesystem::remove_all(userdir, ec);
    return rc;
}
