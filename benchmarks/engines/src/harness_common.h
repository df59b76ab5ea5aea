// Shared driver for the peer-engine harnesses (benchmarks/engines).
//
// Protocol, the same for every harness:
//   stdin : one toneless, unsegmented pinyin string per line ("zhongguowenhua").
//   stdout: one line per input line, in order: the engine's top-1 conversion of the
//           whole input (empty when the engine has none). With --timing, a tab and the
//           CPU milliseconds of that conversion follow ("中国文化\t0.412").
//   stderr: a one-line summary at the end: "# <engine> n=N cpu_ms_median=M cpu_ms_p95=P
//           peak_rss_kb=K".
// CPU time is CLOCK_PROCESS_CPUTIME_ID around the conversion call only (engine set-up,
// I/O and UTF conversion of the result are outside it), after a fixed warm-up.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace peers {

inline double cpu_ms_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

inline std::string trim(const std::string &s) {
    const char *ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

// Appends one code point as UTF-8.
inline void append_utf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// UTF-16 (possibly with surrogate pairs) to UTF-8.
template <typename Char16>
std::string utf16_to_utf8(const Char16 *s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        unsigned c = static_cast<unsigned>(s[i]) & 0xFFFF;
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
            unsigned d = static_cast<unsigned>(s[i + 1]) & 0xFFFF;
            if (d >= 0xDC00 && d < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
                ++i;
            }
        }
        append_utf8(out, c);
    }
    return out;
}

inline double percentile(std::vector<double> v, double q) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    // Linear interpolation between closest ranks (numpy's default).
    double pos = q * static_cast<double>(v.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// Peak resident set size of this process image in kB: VmHWM from /proc/self/status.
// (getrusage's ru_maxrss would also count the parent's memory when the harness was started
// through vfork, as Python's subprocess does.) Falls back to ru_maxrss elsewhere.
inline long peak_rss_kb() {
    if (FILE *f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long kb = -1;
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
        std::fclose(f);
        if (kb >= 0) return kb;
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;  // kilobytes on Linux
}

struct Args {
    bool timing = false;
    std::vector<std::string> flags;  // harness-specific flags named in parse_args' `known`
    bool has(const char *flag) const { return std::find(flags.begin(), flags.end(), flag) != flags.end(); }
};

inline bool parse_args(int argc, char **argv, Args &args, const char *name, const char *extra_help,
                       const std::vector<std::string> &known = {}) {
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--timing") || !std::strcmp(argv[i], "-t")) {
            args.timing = true;
        } else if (std::find(known.begin(), known.end(), argv[i]) != known.end()) {
            args.flags.emplace_back(argv[i]);
        } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf(
                "usage: %s [--timing]\n"
                "Reads toneless unsegmented pinyin, one item per stdin line; writes the top-1\n"
                "whole-input conversion per stdout line (empty if none). --timing appends a tab\n"
                "and the CPU milliseconds of the conversion call. User learning is off.\n%s",
                name, extra_help ? extra_help : "");
            return false;
        } else {
            std::fprintf(stderr, "%s: unknown argument %s (try --help)\n", name, argv[i]);
            std::exit(2);
        }
    }
    return true;
}

// Inputs converted (and discarded) before the measured run, so that lazily loaded
// dictionary pages and caches are warm when timing starts.
inline const std::vector<std::string> &warmup_inputs() {
    static const std::vector<std::string> w = {
        "nihao", "zhongguowenhua", "womenmingtianqubeijing", "jintiantianqihenhao",
        "zhegewentixuyaorenzhenyanjiu", "xianzai", "jingjifazhan", "renmindaibiaodahui",
    };
    return w;
}

// Runs the stdin/stdout loop. `convert` turns one pinyin string into UTF-8 hanzi;
// `timed` is called by `convert` around the engine call so only that is measured:
// convert(input, timed) must call timed(fn) exactly once with the engine work.
using Timed = std::function<void(const std::function<void()> &)>;
using Convert = std::function<std::string(const std::string &, const Timed &)>;

inline int run(const char *engine, const Args &args, const Convert &convert) {
    double elapsed = 0.0;
    Timed timed = [&elapsed](const std::function<void()> &fn) {
        double t0 = cpu_ms_now();
        fn();
        elapsed = cpu_ms_now() - t0;
    };
    for (int round = 0; round < 2; ++round)
        for (const auto &w : warmup_inputs()) convert(w, timed);

    std::ios::sync_with_stdio(false);
    std::vector<double> times;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::string input = trim(line);
        std::string out;
        elapsed = 0.0;
        if (!input.empty()) out = convert(input, timed);
        // A conversion result never contains a newline or tab; guard anyway.
        for (auto &ch : out)
            if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
        times.push_back(elapsed);
        std::cout << out;
        if (args.timing) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "\t%.4f", elapsed);
            std::cout << buf;
        }
        std::cout << '\n';
        std::cout.flush();
    }
    std::fprintf(stderr, "# %s n=%zu cpu_ms_median=%.4f cpu_ms_p95=%.4f peak_rss_kb=%ld\n", engine,
                 times.size(), percentile(times, 0.5), percentile(times, 0.95), peak_rss_kb());
    return 0;
}

}  // namespace peers
