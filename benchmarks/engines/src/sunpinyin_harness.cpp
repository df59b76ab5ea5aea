// SunPinyin: top-1 whole-input conversion.
//
// Set-up mirrors a fresh SunPinyin user (what CSimplifiedChinesePolicy builds), without its
// files: the system language model lm_sc.t3g and lexicon pydict_sc.bin, an *empty in-memory*
// bigram history cache (never loaded from or saved to disk), no user dictionary, charset
// level 3 (GBK), and the stock Quanpin segmentor of AQuanpinSchemePolicy (its defaults:
// no fuzzy syllables). Learning is off: CIMIContext::memorize() is never called, so the
// history stays empty. SunPinyin has no preceding-context input; every item starts from a
// cleared context.
//
// Conversion: letters are pushed into the segmentor one by one (as typing does), the lattice
// is extended after each letter without searching, then one search runs over the whole
// lattice; the answer is the rank-0 best sentence (CIMIContext::getBestSentence).
// --incremental searches after every letter instead, as the IME front-ends do while the user
// types; the answer is the same, the CPU time is the sum over all keystrokes.
#include <sunpinyin.h>

#include <cstdlib>
#include <string>

#include "harness_common.h"

#ifndef SUNPINYIN_DATA
#define SUNPINYIN_DATA "/usr/lib/x86_64-linux-gnu/sunpinyin/data"
#endif

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "sunpinyin_harness",
                           "--incremental: search after every letter (as while typing) instead of once.\n"
                           "Environment: SUNPINYIN_DATA overrides the data directory.\n",
                           {"--incremental"}))
        return 0;
    const bool incremental = args.has("--incremental");
    std::string data = std::getenv("SUNPINYIN_DATA") ? std::getenv("SUNPINYIN_DATA") : SUNPINYIN_DATA;
    std::string lm = data + "/lm_sc.t3g";
    std::string dict = data + "/pydict_sc.bin";

    CIMIData core;
    if (!core.loadResource(lm.c_str(), dict.c_str())) {
        std::fprintf(stderr, "sunpinyin_harness: cannot load %s / %s\n", lm.c_str(), dict.c_str());
        return 1;
    }
    CBigramHistory history;  // empty; a fresh user's history, never persisted

    CIMIContext ic;
    ic.setCoreData(&core);
    ic.setHistoryMemory(&history);
    ic.setUserDict(nullptr);
    ic.setCharsetLevel(3);

    IPySegmentor *seg = AQuanpinSchemePolicy::instance().createPySegmentor();
    if (!seg) {
        std::fprintf(stderr, "sunpinyin_harness: no Quanpin segmentor\n");
        return 1;
    }

    int rc = peers::run("sunpinyin", args, [&](const std::string &input, const peers::Timed &timed) {
        ::wstring best;
        seg->clear();
        ic.clear();
        timed([&] {
            for (unsigned char ch : input) {
                seg->push(ch);
                ic.buildLattice(seg, incremental);
            }
            if (!incremental) ic.searchFrom(1);
            ic.getBestSentence(best, 0);
        });
        std::string out;
        for (TWCHAR c : best) peers::append_utf8(out, c);
        return out;
    });
    delete seg;
    return rc;
}
