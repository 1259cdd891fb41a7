// mote info: what this build is and what the reference models need.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "gemm/gemm.h"
#include "mote/spec.h"

namespace mote::cli {

namespace {
constexpr FlagSpec kFlags[] = {{"help", false, "show this help"}};

void row(const char* name, const ModelSpec& s) {
  PlanOptions train;
  train.batch = 32;
  PlanOptions infer1;
  infer1.batch = 1;
  infer1.train = Trainable::none;
  std::printf("  %-12s %8zu params %9zu bytes   arena: train b32 %9zu  infer b1 %7zu\n", name, param_count(s),
              param_count(s) * sizeof(float), arena_bytes(s, train), arena_bytes(s, infer1));
}
}  // namespace

int cmd_info(int argc, char** argv) {
  Args a;
  if (!a.parse("info", argc, argv, kFlags, 1)) return kExitBadInput;
  if (a.has("help")) {
    print_usage("info", "", kFlags, 1);
    return kExitOk;
  }
  std::printf("mote %s\n", "0.1.0");
  std::printf("compiler   %s\n", __VERSION__);
  if (gemm::isa_request() == gemm::IsaRequest::honoured)
    std::printf("kernels    %s (MOTE_ISA; this CPU runs: %s)\n", gemm::active_isa(), gemm::runnable_isas());
  else
    std::printf("kernels    %s\n", gemm::active_isa());
  std::printf("reference models:\n");
  row("stacked", reference::stacked);
  row("tied", reference::tied);
  row("greedy-ae1", reference::greedy_ae1);
  row("greedy-ae2", reference::greedy_ae2);
  return kExitOk;
}

}  // namespace mote::cli
