// The one table of model families. genlab-cli's train/sample/eval dispatch, the checkpoint-kind
// check, the app's tabs and File › Shipped models all come from it: a new family is a folder
// (model, trainer, CLI run, lab; its panel in app/) plus one entry here and one in app/panels.cpp.
// Torch-free.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

class Session;
struct ComparableModel;

struct Family {
  std::string name;                // "vae": the folder, and the app's tab id
  std::string title;               // "VAE / AE": for menus
  std::vector<std::string> kinds;  // the checkpoint kinds it reads and trains (--model vae|ae)
  // genlab-cli's entry points; each returns its result as JSON text. A family without samples
  // (the classifier) has no sample entry.
  std::string (*train)(const TrainArgs&, const LogLine&) = nullptr;
  std::string (*sample)(const SampleArgs&) = nullptr;
  std::string (*eval)(const EvalArgs&, const LogLine&) = nullptr;
  bool eval_needs_classifier = false;  // its eval scores samples with FID-LeNet's classifier
  bool sampling_steps = false;         // sample takes --sampler, --steps, --cfg, --eta, --gif
  std::vector<std::string> shipped;  // its models in assets/models (file names)
  // The app: opens a checkpoint of the family in its lab (null: the family has no lab), and the
  // shipped models the app opens when started without --load.
  void (*open_in_lab)(Session&, const std::string& path) = nullptr;
  std::vector<std::string> opened_at_start;
  // The Compare table: opens a checkpoint with the curves it is measured along (null: the family
  // draws nothing from noise — it translates pictures, or judges them).
  std::shared_ptr<ComparableModel> (*open_comparable)(const std::string& path) = nullptr;
};

const std::vector<Family>& families();

// The family that reads checkpoints of `kind` ("vae", "ae", "gan", "ddpm", "classifier"); throws
// std::invalid_argument naming `what` (a path or option) when none does.
const Family& family_of_kind(const std::string& kind, const std::string& what);
// The family of a checkpoint, from its metadata: throws CheckpointError naming the file when it is
// not a genlab checkpoint, std::invalid_argument when no family reads its kind.
const Family& family_of_checkpoint(const std::string& path);
// Opens a checkpoint in its family's lab (a job on the session's worker); throws CheckpointError or
// std::invalid_argument naming the file when it cannot.
const Family& open_in_lab(Session& session, const std::string& path);

// Every kind some family trains, for --model's choices.
std::vector<std::string> trainable_kinds();

// genlab-cli's commands through the table. train refuses an --out in the shipped models' folder;
// eval finds the shipped classifier when none is given.
std::string train_model(const TrainArgs& args, const LogLine& log);
std::string sample_model(const SampleArgs& args);
std::string eval_model(EvalArgs args, const LogLine& log);

}  // namespace genlab
