// What the commands share: the reference models by name, setup-time arena
// memory, the MOTE_ISA check, and mapping a core Status to a message and an
// exit code.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"
#include "gemm/gemm.h"

namespace mote::cli {

const ModelSpec* reference_spec(const char* name) {
  if (!std::strcmp(name, "stacked")) return &reference::stacked;
  if (!std::strcmp(name, "tied")) return &reference::tied;
  return nullptr;
}

ArenaBuffer::~ArenaBuffer() { std::free(data); }

bool ArenaBuffer::allocate(std::size_t bytes) {
  std::free(data);
  size = arena_round_up(bytes > 0 ? bytes : 1);
  data = std::aligned_alloc(kAlign, size);
  if (!data) size = 0;
  return data != nullptr;
}

int check_isa(const char* want) {
  const kernels::IsaKernels* set = nullptr;
  const char* why = gemm::isa_refusal(gemm::resolve_isa(want, &set));
  if (why == nullptr) return kExitOk;
  std::fprintf(stderr, "mote: MOTE_ISA=%s: %s; this CPU runs: %s\n", want, why, gemm::runnable_isas());
  return kExitBadInput;
}

int fail_status(const char* command, const char* what, Status s) {
  std::fprintf(stderr, "mote %s: %s: %s\n", command, what, status_message(s));
  return s == Status::invalid_argument || s == Status::shape_mismatch || s == Status::bad_file ||
                 s == Status::invalid_model
             ? kExitBadInput
             : kExitFailure;
}

}  // namespace mote::cli
