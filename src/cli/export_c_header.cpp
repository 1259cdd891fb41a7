// Placeholder until the ARM issue's exporter lands.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"

namespace mote::cli {

int export_c_header(int, char**) {
  std::fprintf(stderr, "mote export: --c-header is not built yet\n");
  return kExitFailure;
}

}  // namespace mote::cli
