// What every Alluvium CLI (CLI11) shares beyond its options: `--help-all` (every
// subcommand's help), and, generated from the same definition for the build, a bash
// completion script (`--completion`) and the man page's COMMANDS section
// (`--man-include`, for help2man). Header-only, not installed.
#pragma once

#include <alluvium/url.hpp>

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace alluvium::cli {

// A size as people write it: "123", "64k", "1.5M", "10G", "2GiB", "1T" (binary units, an
// optional "B" or "iB"); nullopt for anything else (negative, unknown unit, too large).
inline std::optional<std::uint64_t> parse_size(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (...) {
        return std::nullopt;
    }
    if (value < 0 || !std::isfinite(value)) {
        return std::nullopt;
    }
    std::string unit = text.substr(used);
    if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) {
        unit.pop_back();
    }
    if (!unit.empty() && (unit.back() == 'i')) {
        unit.pop_back();
    }
    double scale = 1;
    if (unit.empty())
        scale = 1;
    else if (unit == "k" || unit == "K")
        scale = 1024.0;
    else if (unit == "m" || unit == "M")
        scale = 1024.0 * 1024;
    else if (unit == "g" || unit == "G")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "t" || unit == "T")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        return std::nullopt;
    const double bytes = value * scale;
    if (bytes > 9.0e18) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(bytes);
}

// A CLI11 check for a BitTorrent tracker's announce URL (is_tracker_url).
inline const CLI::Validator tracker_url(
    [](std::string& text) {
        return is_tracker_url(text)
                   ? std::string()
                   : "'" + text + "' is not an http(s):// or udp://host:port announce URL";
    },
    "URL");

// A server's players and peers each hold a socket: the soft limit on open files (1024 on
// many systems) rises to the hard one, as Icecast and nginx do.
inline void raise_open_file_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

namespace detail {

inline std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

// The visible options of `app`: all their spellings, and those that take a value.
inline void collect(const CLI::App& app, std::vector<std::string>& all,
                    std::vector<std::string>& valued) {
    for (const CLI::Option* opt : app.get_options()) {
        if (!opt->nonpositional() || opt->get_group().empty())
            continue;  // positionals, hidden options
        const bool takes_value = opt->get_type_size_min() > 0 && opt->get_expected_min() > 0;
        for (const std::string& l : opt->get_lnames()) {
            all.push_back("--" + l);
            if (takes_value)
                valued.push_back("--" + l);
        }
        for (const std::string& s : opt->get_snames()) {
            all.push_back("-" + s);
            if (takes_value)
                valued.push_back("-" + s);
        }
    }
}

inline std::string shell_name(const std::string& program) {
    std::string f = "_" + program;
    for (char& c : f) {
        if (c == '-')
            c = '_';
    }
    return f;
}

}  // namespace detail

// A bash completion script for `program`: subcommands, their options, and files for the
// values of options and for arguments.
inline std::string bash_completion(const CLI::App& app, const std::string& program) {
    std::vector<std::string> top;
    std::vector<std::string> top_valued;
    detail::collect(app, top, top_valued);
    std::vector<std::string> names;
    std::string cases;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        std::vector<std::string> opts;
        std::vector<std::string> valued = top_valued;
        detail::collect(*sub, opts, valued);
        names.push_back(sub->get_name());
        cases += "        " + sub->get_name() + ") opts=\"" + detail::join(opts) + "\"; valued=\"" +
                 detail::join(valued) + "\" ;;\n";
    }
    const std::string f = detail::shell_name(program);
    std::string s;
    s += "# bash completion for " + program + " (generated from its command line definition)\n";
    s += f + "() {\n";
    s += "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n";
    s += "    local subs=\"" + detail::join(names) + "\" sub=\"\" i w\n";
    s += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
    s += "        for w in $subs; do [[ ${COMP_WORDS[i]} == \"$w\" ]] && sub=$w; done\n";
    s += "    done\n";
    s += "    local opts=\"" + detail::join(top) + "\" valued=\"" + detail::join(top_valued) +
         "\"\n";
    s += "    case $sub in\n" + cases + "    esac\n";
    s += "    if [[ \" $valued \" == *\" $prev \"* ]]; then\n";
    s += "        COMPREPLY=($(compgen -f -- \"$cur\"))\n";
    s += "    elif [[ $cur == -* ]]; then\n";
    s += "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n";
    s += "    elif [[ -z $sub && -n $subs ]]; then\n";
    s += "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n";
    s += "    else\n";
    s += "        COMPREPLY=($(compgen -f -- \"$cur\"))\n";
    s += "    fi\n";
    s += "}\n";
    s += "complete -o filenames -F " + f + " " + program + "\n";
    return s;
}

namespace detail {

// Text for roff: backslashes and dashes escaped, no line starting with a control character.
inline std::string roff(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out.front() == '.' || out.front() == '\''))
        out.insert(0, "\\&");
    return out;
}

inline std::string option_usage(const CLI::Option& opt) {
    std::string names;
    for (const std::string& s : opt.get_snames())
        names += (names.empty() ? "" : ", ") + std::string("\\fB\\-") + roff(s) + "\\fR";
    for (const std::string& l : opt.get_lnames())
        names += (names.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roff(l) + "\\fR";
    if (!opt.nonpositional())
        names = "\\fI" + roff(opt.get_name()) + "\\fR";
    else if (opt.get_type_size_min() > 0 && opt.get_expected_min() > 0)
        names += " \\fI" + roff(opt.get_type_name()) + "\\fR";
    return names;
}

}  // namespace detail

// A help2man include file: SEE ALSO, and the subcommands of `app` as a COMMANDS section,
// so that the man page documents each of them from the same definition as --help.
inline std::string man_sections(const CLI::App& app) {
    std::string s =
        "[SEE ALSO]\n.BR alluvium\\-broadcaster (1),\n.BR alluvium\\-gateway (1),\n"
        ".BR alluvium\\-tune (1),\n.BR alluvium\\-player (1)\n";
    const auto subs = app.get_subcommands([](const CLI::App*) { return true; });
    if (!subs.empty())
        s += "[COMMANDS]\n";
    for (const CLI::App* sub : subs) {
        s += ".SS " + detail::roff(sub->get_name()) + "\n" + detail::roff(sub->get_description()) +
             "\n";
        for (const CLI::Option* opt : sub->get_options()) {
            if (opt->get_group().empty() || opt->get_lnames() == std::vector<std::string>{"help"})
                continue;
            s += ".TP\n" + detail::option_usage(*opt) + "\n";
            std::string text = opt->get_description();
            if (!opt->get_default_str().empty())
                text += " (default: " + opt->get_default_str() + ")";
            if (opt->get_required())
                text += " (required)";
            s += detail::roff(text) + "\n";
        }
    }
    return s;
}

// Adds --help-all, and the hidden --completion and --man-include, to `app`.
inline void add_standard_flags(CLI::App& app, const std::string& program) {
    app.set_help_all_flag("--help-all", "Print the help of every subcommand too, and exit");
    app.add_flag_callback(
           "--completion",
           [&app, program] {
               std::cout << bash_completion(app, program);
               throw CLI::Success();
           },
           "Print a bash completion script and exit")
        ->group("");
    app.add_flag_callback(
           "--man-include",
           [&app] {
               std::cout << man_sections(app);
               throw CLI::Success();
           },
           "Print the man page's COMMANDS section (help2man include) and exit")
        ->group("");
}

}  // namespace alluvium::cli
