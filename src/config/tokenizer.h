// The config tokenizer: one line in, its words out, following HAProxy's quoting rules
// (configuration manual, "Quoting and escaping" and "Environment variables"):
//   - words are separated by unquoted, unescaped spaces and tabs;
//   - '#' starts a comment unless quoted or escaped;
//   - "double quotes" keep spaces and '#', still process backslash escapes, and expand
//     $NAME, ${NAME} and ${NAME-default} from the environment (an unset variable expands to
//     nothing; the default is used only when the variable is unset);
//   - 'single quotes' keep everything literally (no escape, no expansion);
//   - backslash escapes (outside single quotes): "\ " "\#" "\\" "\'" "\"" "\t" "\n" "\r"
//     "\xNN", and "\$" inside double quotes; any other backslash is kept as is, like HAProxy;
//   - quoted and unquoted pieces concatenate into one word (a"b c"d is "ab cd"), and ""
//     is an empty word.
// Errors: unmatched quotes, unmatched braces, bad variable names and bad \x sequences.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace fulcrum::config {

// Splits one line (without its newline; a '\n' or '\r' ends the line anyway) into words.
// An empty or comment-only line gives no words. Error messages name the column (1-based).
Result<std::vector<std::string>> tokenizeLine(std::string_view line, const EnvLookup& env);

// The process environment, through getenv(3): the default EnvLookup.
EnvLookup processEnv();

}  // namespace fulcrum::config
