// Command-line flags for the mote tool: "--name value" and "--flag" pairs,
// checked against the command's list, with one-line errors for the user.
#pragma once
#include <cstdint>

namespace mote::cli {

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitBadInput = 2 };

struct FlagSpec {
  const char* name;   // without "--"
  bool takes_value;
  const char* help;
};

class Args {
 public:
  // Returns false (after printing "mote CMD: ..." to stderr) on an unknown
  // flag, a missing value or a stray positional argument.
  bool parse(const char* command, int argc, char** argv, const FlagSpec* flags, int nflags);

  bool has(const char* name) const;
  const char* str(const char* name, const char* fallback) const;
  // Each getter prints the error and returns false when the value is malformed
  // or out of [lo, hi]; *out keeps its value when the flag is absent.
  bool integer(const char* name, int64_t lo, int64_t hi, int64_t* out) const;
  bool real(const char* name, double lo, double hi, double* out) const;

  const char* command() const { return command_; }

 private:
  static constexpr int kMax = 32;
  const char* command_ = "";
  const char* names_[kMax] = {};
  const char* values_[kMax] = {};
  int n_ = 0;
};

void print_usage(const char* command, const char* synopsis, const FlagSpec* flags, int nflags);

}  // namespace mote::cli
