// mote import --npz / mote export --npz: weights to and from NumPy, in the
// order Keras' model.get_weights() lists them (docs/model-format.md, "NumPy
// interop"):
//   keras:   for each layer, a Dense kernel [in, out] then its bias [out]; a
//            tied (DenseTranspose) layer's own bias [out] only;
//   pytorch: the same list with kernels [out, in] (nn.Linear.weight).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/model_file.h"
#include "io/npz.h"

namespace mote::cli {

namespace {

enum class Layout { keras, pytorch };

bool parse_layout(const char* cmd, const Args& a, Layout* out) {
  const char* l = a.str("layout", "keras");
  if (!std::strcmp(l, "keras")) *out = Layout::keras;
  else if (!std::strcmp(l, "pytorch")) *out = Layout::pytorch;
  else {
    std::fprintf(stderr, "mote %s: --layout: expected keras or pytorch, got '%s'\n", cmd, l);
    return false;
  }
  return true;
}

// One array of the list: which layer, kernel or bias, and its shape.
struct Slot {
  int layer;
  bool kernel;
  int64_t rows, cols;  // cols 0: a vector
  std::size_t at;      // canonical float index
};

std::vector<Slot> slots(const ModelSpec& spec, Layout layout) {
  std::vector<Slot> v;
  std::size_t at = 0;
  for (int i = 0; i < spec.num_layers; ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.kind == LayerKind::dense) {
      if (layout == Layout::keras) v.push_back({i, true, l.in, l.out, at});
      else v.push_back({i, true, l.out, l.in, at});
      at += kernel_floats(l);
    }
    v.push_back({i, false, l.out, 0, at});
    at += static_cast<std::size_t>(l.out);
  }
  return v;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char d[32];
    std::snprintf(d, sizeof d, "%lld%s", static_cast<long long>(s[i]), s.size() == 1 || i + 1 < s.size() ? "," : "");
    r.append(d);
  }
  r.push_back(')');
  return r;
}
std::string shape_str(const Slot& s) {
  return shape_str(s.cols ? std::vector<int64_t>{s.rows, s.cols} : std::vector<int64_t>{s.rows});
}

constexpr FlagSpec kExportFlags[] = {
    {"load", true, "the model file or checkpoint to export (required)"},
    {"npz", true, "write the weights to OUT.npz (required)"},
    {"layout", true, "keras (kernels [in, out], default) or pytorch (kernels [out, in])"},
    {"help", false, "show this help"},
};
constexpr FlagSpec kImportFlags[] = {
    {"npz", true, "the .npz file to read (required): np.savez(path, *weights)"},
    {"model", true, "stacked | tied: the model the weights belong to (required)"},
    {"layout", true, "keras (kernels [in, out], default) or pytorch (kernels [out, in])"},
    {"save", true, "write the model file to OUT (required)"},
    {"help", false, "show this help"},
};

}  // namespace

int export_npz(int argc, char** argv) {
  Args a;
  if (!a.parse("export", argc, argv, kExportFlags, 4)) return kExitBadInput;
  if (a.has("help")) {
    print_usage("export", "--load FILE --npz OUT.npz [--layout keras|pytorch]", kExportFlags, 4);
    return kExitOk;
  }
  if (!a.has("load") || !a.has("npz")) {
    std::fprintf(stderr, "mote export: --load FILE and --npz OUT are required\n");
    return kExitBadInput;
  }
  Layout layout;
  if (!parse_layout("export", a, &layout)) return kExitBadInput;
  const char* in = a.str("load", "");
  const char* out = a.str("npz", "");
  io::Error err;
  io::LoadedModel lm;
  if (io::load_model(in, &lm, &err) != Status::ok) {
    std::fprintf(stderr, "mote export: %s\n", err.message);
    return kExitBadInput;
  }
  std::vector<io::NpyArray> arrays;
  for (const Slot& s : slots(lm.spec, layout)) {
    io::NpyArray arr;
    arr.name = "arr_" + std::to_string(arrays.size());
    const float* src = lm.params.data() + s.at;
    if (!s.kernel) {
      arr.shape = {s.rows};
      arr.data.assign(src, src + s.rows);
    } else {
      arr.shape = {s.rows, s.cols};
      const auto r = static_cast<std::size_t>(s.rows), c = static_cast<std::size_t>(s.cols);
      if (layout == Layout::keras) {
        arr.data.assign(src, src + r * c);
      } else {  // canonical [in][out] -> [out][in]
        arr.data.resize(r * c);
        for (std::size_t o = 0; o < r; ++o)
          for (std::size_t i = 0; i < c; ++i) arr.data[o * c + i] = src[i * r + o];
      }
    }
    arrays.push_back(std::move(arr));
  }
  if (io::write_npz(out, arrays, &err) != Status::ok) {
    std::fprintf(stderr, "mote export: %s\n", err.message);
    return kExitFailure;
  }
  std::fprintf(stderr, "wrote %s: %zu arrays (%s layout)\n", out, arrays.size(),
               layout == Layout::keras ? "keras" : "pytorch");
  return kExitOk;
}

int cmd_import(int argc, char** argv) {
  Args a;
  if (!a.parse("import", argc, argv, kImportFlags, 5)) return kExitBadInput;
  if (a.has("help")) {
    print_usage("import", "--npz FILE --model stacked|tied [--layout keras|pytorch] --save OUT", kImportFlags, 5);
    return kExitOk;
  }
  if (!a.has("npz") || !a.has("model") || !a.has("save")) {
    std::fprintf(stderr, "mote import: --npz FILE, --model stacked|tied and --save OUT are required\n");
    return kExitBadInput;
  }
  Layout layout;
  if (!parse_layout("import", a, &layout)) return kExitBadInput;
  const char* model = a.str("model", "");
  const ModelSpec* spec = reference_spec(model);
  if (!spec) {
    std::fprintf(stderr, "mote import: --model: expected stacked or tied, got '%s'\n", model);
    return kExitBadInput;
  }
  const char* path = a.str("npz", "");
  io::Error err;
  std::vector<io::NpyArray> arrays;
  if (io::read_npz(path, &arrays, &err) != Status::ok) {
    std::fprintf(stderr, "mote import: %s\n", err.message);
    return kExitBadInput;
  }
  const bool positional = io::order_as_positional(&arrays);
  const std::vector<Slot> want = slots(*spec, layout);
  const char* lname = layout == Layout::keras ? "keras" : "pytorch";
  if (arrays.size() != want.size()) {
    std::fprintf(stderr, "mote import: %s: holds %zu arrays, the %s model has %zu in the %s layout:", path,
                 arrays.size(), model, want.size(), lname);
    for (const Slot& s : want) std::fprintf(stderr, " %s", shape_str(s).c_str());
    std::fprintf(stderr, "\n");
    return kExitBadInput;
  }
  std::vector<float> params(param_count(*spec));
  for (std::size_t k = 0; k < want.size(); ++k) {
    const Slot& s = want[k];
    const io::NpyArray& arr = arrays[k];
    const std::vector<int64_t> need = s.cols ? std::vector<int64_t>{s.rows, s.cols} : std::vector<int64_t>{s.rows};
    if (arr.shape != need) {
      const bool swapped = s.cols && arr.shape == std::vector<int64_t>{s.cols, s.rows};
      std::fprintf(stderr, "mote import: %s: array %zu ('%s') has shape %s, layer %d's %s needs %s in the %s layout%s\n",
                   path, k, arr.name.c_str(), shape_str(arr.shape).c_str(), s.layer, s.kernel ? "kernel" : "bias",
                   shape_str(s).c_str(), lname,
                   swapped ? (layout == Layout::keras ? " (try --layout pytorch)" : " (try --layout keras)") : "");
      return kExitBadInput;
    }
    for (std::size_t i = 0; i < arr.data.size(); ++i) {
      if (!std::isfinite(arr.data[i])) {
        std::fprintf(stderr, "mote import: %s: array %zu ('%s') holds a NaN or infinite value at index %zu\n", path, k,
                     arr.name.c_str(), i);
        return kExitBadInput;
      }
    }
    float* dst = params.data() + s.at;
    if (!s.kernel || layout == Layout::keras) {
      std::memcpy(dst, arr.data.data(), arr.data.size() * sizeof(float));
    } else {  // [out][in] -> canonical [in][out]
      const auto r = static_cast<std::size_t>(s.rows), c = static_cast<std::size_t>(s.cols);
      for (std::size_t o = 0; o < r; ++o)
        for (std::size_t i = 0; i < c; ++i) dst[i * r + o] = arr.data[o * c + i];
    }
  }
  const char* out = a.str("save", "");
  if (io::save_model(out, *spec, params.data(), params.size(), &err) != Status::ok) {
    std::fprintf(stderr, "mote import: %s\n", err.message);
    return kExitFailure;
  }
  std::fprintf(stderr, "imported %s (%zu arrays%s, %s layout) as the %s model: saved %s\n", path, arrays.size(),
               positional ? "" : " in archive order", lname, model, out);
  return kExitOk;
}

}  // namespace mote::cli
