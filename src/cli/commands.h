// The mote tool's commands. Each takes the arguments after its name and
// returns the process exit code: 0 ok, 1 failure, 2 bad input or arguments.
#pragma once
#include <cstddef>

#include "mote/spec.h"
#include "mote/train.h"

namespace mote::cli {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_export(int argc, char** argv);   // --c-header or --npz
int cmd_import(int argc, char** argv);   // --npz

// The two export formats (cmd_export dispatches on the flag given).
int export_c_header(int argc, char** argv);  // cli/export_c_header.cpp
int export_npz(int argc, char** argv);       // cli/npz_commands.cpp

// The reference models by name ("stacked", "tied"); nullptr for others.
const ModelSpec* reference_spec(const char* name);

// Owns aligned setup-time memory for an arena (the only heap use of a run,
// made before the first step).
struct ArenaBuffer {
  void* data = nullptr;
  std::size_t size = 0;
  ArenaBuffer() = default;
  ArenaBuffer(const ArenaBuffer&) = delete;
  ArenaBuffer& operator=(const ArenaBuffer&) = delete;
  ~ArenaBuffer();
  bool allocate(std::size_t bytes);
};

// MOTE_ISA (`want`, the variable's value or null) names a kernel set this
// build has and this CPU runs, or is unset: kExitOk. Otherwise prints why
// and what this CPU runs, and returns kExitBadInput: an A/B run must not go
// on with another set than the one it asked for.
int check_isa(const char* want);

// Prints "mote CMD: message" for a failed status of the core.
int fail_status(const char* command, const char* what, Status s);

}  // namespace mote::cli
