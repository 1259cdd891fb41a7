// mote: train, evaluate and inspect the reference autoencoders.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"train", mote::cli::cmd_train, "train a model on Fashion-MNIST (stacked, tied, greedy)"},
    {"eval", mote::cli::cmd_eval, "evaluate a saved model on the test split"},
    {"info", mote::cli::cmd_info, "build, ISA, and the sizes of the reference models"},
    {"export", mote::cli::cmd_export, "write a model's weights as a C header (--c-header) or .npz (--npz)"},
    {"import", mote::cli::cmd_import, "read weights from an .npz file into a model file"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: mote <command> [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.help);
  std::fprintf(out, "\n'mote <command> --help' lists a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return mote::cli::kExitBadInput;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(stdout);
    return mote::cli::kExitOk;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name)) continue;
    if (const int rc = mote::cli::check_isa(std::getenv("MOTE_ISA")); rc != mote::cli::kExitOk) return rc;
    return c.run(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "mote: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return mote::cli::kExitBadInput;
}
