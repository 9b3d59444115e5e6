// sq_export: checkpoint -> packed .sqm (and, with --onnx, an ONNX model written by scripts/deploy/sqm_to_onnx.py
// with the onnx package). The network is restored as sq_eval restores it, with quantized weights (r = 1) and BN
// recalibrated as the run's evaluation did, so the packed file scores what the run logged.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "deploy/cli_util.hpp"
#include "deploy/restore.hpp"
#include "sq/deploy/packed.hpp"

namespace sq::deploy {
namespace {

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

bool is_executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The interpreter for the ONNX writer: --python, $SQ_PYTHON, the venv scripts/deploy/make-venv.sh makes in the
// build folder, or python3 (which then needs onnx installed).
std::string find_python(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("SQ_PYTHON"); env && *env) return env;
  const std::string venv = std::string(SQ_DEPLOY_VENV) + "/bin/python";
  if (is_executable(venv)) return venv;
  return "python3";
}

}  // namespace

ExportResult export_checkpoint(const std::string& checkpoint, const std::string& out, const ExportOptions& options) {
  SQ_CHECK(!out.empty(), "no output file: pass -o model.sqm");
  RestoreOptions restore = options.restore;
  restore.weights = train::EvalWeights::quantized;
  std::unique_ptr<detail::RestoredRun> run = detail::restore_run(checkpoint, restore);
  SQ_CHECK(run->model->pipeline() != nullptr,
           checkpoint << " is a full-precision (FWN, quantizer 'none') run: it has no low-bit weights to pack; "
                         "sq_eval evaluates it, sq_export needs a BWN, TWN or k-bit checkpoint");
  detail::prepare_weights(*run, train::EvalWeights::quantized);
  PackOptions pack;
  pack.fold_bn = options.fold_bn;
  pack.normalization = run->normalization;
  pack.dataset = run->config.data.dataset;
  pack.config_json = run->config.to_json(-1);
  pack.source = checkpoint;
  train::write_checkpoint(out, pack_model(*run->model, pack));
  ExportResult r;
  r.path = out;
  r.file_bytes = file_size(out);
  r.size = run->model->size();
  r.checkpoint_bytes = file_size(checkpoint);
  std::uint8_t length[8] = {};
  if (std::FILE* f = std::fopen(out.c_str(), "rb")) {
    if (std::fread(length, 1, 8, f) != 8) std::memset(length, 0, sizeof length);
    std::fclose(f);
  }
  std::int64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | length[i];
  r.data_bytes = r.file_bytes - 8 - header;
  if (!options.onnx_path.empty()) {
    const std::string python = find_python(options.python);
    const std::string script = std::string(SQ_SOURCE_ROOT) + "/scripts/deploy/sqm_to_onnx.py";
    const std::string command = quote(python) + " " + quote(script) + " " + quote(out) + " " + quote(options.onnx_path);
    const int status = std::system(command.c_str());
    SQ_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "writing ONNX " << options.onnx_path << " failed (" << command << " exited with "
                             << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                             << "); the interpreter needs the onnx package: run scripts/deploy/make-venv.sh, or "
                                "pass --python / set SQ_PYTHON");
    r.onnx_bytes = file_size(options.onnx_path);
  }
  return r;
}

int export_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "sq_export: pack a training checkpoint's fully quantized network (r = 1) into a low-bit .sqm file "
      "(safetensors: U8 codes, fp32 row scales; docs/DEPLOY.md), optionally also as ONNX",
      "sq_export");
  std::string checkpoint, output;
  ExportOptions options;
  std::int64_t recalibrate = -1;
  app.add_option("checkpoint", checkpoint, "checkpoint written by train_cifar")->required()->check(CLI::ExistingFile);
  app.add_option("-o,--output", output, "packed file to write (e.g. model.sqm)")->required();
  app.add_flag("--fold-bn", options.fold_bn,
               "fold each BatchNorm that follows a quantized conv/FC into its row scales and a bias (codes of rows "
               "with negative BN scale are negated)");
  app.add_option("--onnx", options.onnx_path, "also write an ONNX model (DequantizeLinear of int4/int8 weights)");
  app.add_option("--python", options.python,
                 "Python with the onnx package, for --onnx (default: $SQ_PYTHON or "
                 "the build's deploy venv)");
  app.add_option("--dataset", options.restore.dataset, "training data set for BN recalibration (default: the run's)");
  app.add_option("--data", options.restore.data_dir, "its folder (default: the run's)");
  app.add_option("--bn-recalibrate-batches", recalibrate,
                 "BN statistics over N training batches, as the run's evaluation (default: the run's; 0 = the "
                 "checkpoint's)");
  const int parsed = detail::parse_command_line(app, argc, argv, out, err);
  if (parsed >= 0) return parsed;
  return detail::run_reporting_errors("sq_export", err, [&] {
    if (recalibrate >= 0) options.restore.bn_recalibrate_batches = recalibrate;
    const ExportResult r = export_checkpoint(checkpoint, output, options);
    out << "sq_export: " << r.path << ": " << r.file_bytes << " bytes (" << r.data_bytes << " data + "
        << r.file_bytes - r.data_bytes << " header); model summary packed size " << r.size.packed_bytes
        << " bytes, fp32 " << r.size.fp32_bytes << "; checkpoint " << r.checkpoint_bytes << " bytes\n";
    if (r.onnx_bytes > 0) out << "sq_export: " << options.onnx_path << ": " << r.onnx_bytes << " bytes\n";
    return detail::kExitOk;
  });
}

}  // namespace sq::deploy
