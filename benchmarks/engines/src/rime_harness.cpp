// RIME (librime) with the luna_pinyin_simp schema: top-1 whole-input conversion.
//
// Set-up: the Debian shared data (/usr/share/rime-data: luna_pinyin, stroke, essay,
// prelude) and a temporary user data directory (removed at exit) holding two patches:
//   default.custom.yaml           schema_list = [luna_pinyin_simp] (deploy only that)
//   <schema>.custom.yaml          translator/enable_user_dict: false (no learning: the
//                                 user dictionary is neither read nor updated)
// The workspace is deployed once (RimeStartMaintenance) before any timing.
// Context-free: every item gets a brand-new session, so no commit history carries over
// (librime 1.8 without the octagram plugin has no other preceding-context input).
//
// Conversion: the letters go in as one key sequence (RimeSimulateKeySequence); then Space
// (select the highlighted, i.e. first, candidate) is pressed until the composition is
// finished, exactly what a user accepting the defaults does; the committed text is the
// answer. If the first candidate covers only part of the input, RIME keeps composing the
// rest and the next Space selects its first candidate.
#include <rime_api.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness_common.h"

#ifndef RIME_SHARED_DATA
#define RIME_SHARED_DATA "/usr/share/rime-data"
#endif

static const int kSpace = 0x20;  // XK_space

int main(int argc, char **argv) {
    peers::Args args;
    if (!peers::parse_args(argc, argv, args, "rime_harness",
                           "Environment: RIME_SHARED_DATA overrides the shared data directory;\n"
                           "RIME_SCHEMA the schema (default luna_pinyin_simp).\n"))
        return 0;
    const char *shared = std::getenv("RIME_SHARED_DATA") ? std::getenv("RIME_SHARED_DATA") : RIME_SHARED_DATA;
    std::string schema = std::getenv("RIME_SCHEMA") ? std::getenv("RIME_SCHEMA") : "luna_pinyin_simp";

    char tmpl[] = "/tmp/peers-rime-XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("rime_harness: mkdtemp");
        return 1;
    }
    std::string user = tmpl;
    {
        std::ofstream(user + "/default.custom.yaml") << "patch:\n  schema_list:\n    - schema: " << schema << "\n";
        std::ofstream(user + "/" + schema + ".custom.yaml") << "patch:\n  translator/enable_user_dict: false\n";
    }
    std::string logdir = user + "/log";
    std::filesystem::create_directories(logdir);

    RIME_STRUCT(RimeTraits, traits);
    traits.shared_data_dir = shared;
    traits.user_data_dir = user.c_str();
    traits.distribution_name = "pinhan-peers";
    traits.distribution_code_name = "pinhan-peers";
    traits.distribution_version = "1";
    traits.app_name = "rime.pinhan-peers";
    traits.min_log_level = 3;  // FATAL only
    traits.log_dir = logdir.c_str();

    RimeSetup(&traits);
    RimeInitialize(&traits);
    int rc = 1;
    if (RimeStartMaintenance(True)) RimeJoinMaintenanceThread();

    // Check once that the schema deploys and loads.
    RimeSessionId probe = RimeCreateSession();
    if (!probe || !RimeSelectSchema(probe, schema.c_str())) {
        std::fprintf(stderr, "rime_harness: cannot load schema %s from %s\n", schema.c_str(), shared);
    } else {
        RimeDestroySession(probe);
        rc = peers::run("rime", args, [&](const std::string &input, const peers::Timed &timed) {
            RimeSessionId session = RimeCreateSession();
            RimeSelectSchema(session, schema.c_str());
            std::string out;
            timed([&] {
                RimeSimulateKeySequence(session, input.c_str());
                for (size_t guard = 0; guard < input.size() + 2; ++guard) {
                    RIME_STRUCT(RimeStatus, status);
                    bool composing = RimeGetStatus(session, &status) && status.is_composing;
                    RimeFreeStatus(&status);
                    if (!composing) break;
                    RimeProcessKey(session, kSpace, 0);
                }
                RIME_STRUCT(RimeCommit, commit);
                if (RimeGetCommit(session, &commit)) {
                    if (commit.text) out = commit.text;
                    RimeFreeCommit(&commit);
                }
            });
            RimeDestroySession(session);
            return out;
        });
    }
    RimeFinalize();
    std::error_code ec;
    std::filesystem::remove_all(user, ec);
    return rc;
}
