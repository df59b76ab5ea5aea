// libpinyin (the engine of ibus-libpinyin): top-1 whole-input conversion.
//
// Set-up: pinyin_init() on the system data directory and a temporary, empty user directory
// (removed at exit; pinyin_save() is never called), with ibus-libpinyin's default option
// word (PINYIN_INCOMPLETE | ZHUYIN_INCOMPLETE | PINYIN_CORRECT_ALL | DYNAMIC_ADJUST |
// USE_RESPLIT_TABLE | USE_DIVIDED_TABLE; no fuzzy pinyin). Learning is off: nothing is
// trained or remembered (no pinyin_train / pinyin_remember_user_input / pinyin_save).
// Context-free: pinyin_guess_sentence() is used, never the *_with_prefix variant, and the
// instance is reset between items.
//
// Conversion: pinyin_parse_more_full_pinyins() on the whole string, pinyin_guess_sentence(),
// then the rank-0 sentence (pinyin_get_sentence(instance, 0, ...)).
#include <glib.h>
#include <pinyin.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "harness_common.h"

#ifndef LIBPINYIN_DATA
#define LIBPINYIN_DATA "/usr/lib/x86_64-linux-gnu/libpinyin/data"
#endif

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "libpinyin_harness",
                           "Environment: LIBPINYIN_DATA overrides the system data directory.\n"))
        return 0;
    const char *sysdir = std::getenv("LIBPINYIN_DATA") ? std::getenv("LIBPINYIN_DATA") : LIBPINYIN_DATA;

    char tmpl[] = "/tmp/peers-libpinyin-XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("libpinyin_harness: mkdtemp");
        return 1;
    }
    std::string userdir = tmpl;
    int rc = 1;
    pinyin_context_t *context = pinyin_init(sysdir, userdir.c_str());
    if (!context) {
        std::fprintf(stderr, "libpinyin_harness: pinyin_init(%s) failed\n", sysdir);
    } else {
        pinyin_option_t options = PINYIN_INCOMPLETE | ZHUYIN_INCOMPLETE | PINYIN_CORRECT_ALL | DYNAMIC_ADJUST |
                                  USE_RESPLIT_TABLE | USE_DIVIDED_TABLE;
        pinyin_set_options(context, options);
        pinyin_instance_t *instance = pinyin_alloc_instance(context);
        rc = peers::run("libpinyin", args, [&](const std::string &input, const peers::Timed &timed) {
            char *sentence = nullptr;
            pinyin_reset(instance);
            timed([&] {
                pinyin_parse_more_full_pinyins(instance, input.c_str());
                if (pinyin_guess_sentence(instance)) pinyin_get_sentence(instance, 0, &sentence);
            });
            std::string out = sentence ? sentence : "";
            g_free(sentence);
            return out;
        });
        pinyin_free_instance(instance);
        pinyin_fini(context);
    }
    std::error_code ec;
    std::filesystem::remove_all(userdir, ec);
    return rc;
}
