// mote export: dispatches on the output format asked for.
#include <cstdio>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"

namespace mote::cli {

int cmd_export(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--c-header")) return export_c_header(argc, argv);
    if (!std::strcmp(argv[i], "--npz")) return export_npz(argc, argv);
  }
  const bool help = argc > 0 && !std::strcmp(argv[0], "--help");
  std::fprintf(help ? stdout : stderr,
               "usage: mote export --load FILE --c-header OUT.h [--name NAME]\n"
               "       mote export --load FILE --npz OUT.npz [--layout keras|pytorch]\n");
  return help ? kExitOk : kExitBadInput;
}

}  // namespace mote::cli
