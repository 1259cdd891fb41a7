// Placeholder until the model-files issue's .npz interop lands.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"

namespace mote::cli {

int export_npz(int, char**) {
  std::fprintf(stderr, "mote export: --npz is not built yet\n");
  return kExitFailure;
}
int cmd_import(int, char**) {
  std::fprintf(stderr, "mote import: not built yet\n");
  return kExitFailure;
}

}  // namespace mote::cli
