#include "core/families.h"

#include <stdexcept>

#include "core/classifier/classifier_run.h"
#include "core/diffusion/diffusion_lab.h"
#include "core/diffusion/diffusion_run.h"
#include "core/diffusion/ldm_lab.h"
#include "core/gan/gan_lab.h"
#include "core/gan/gan_run.h"
#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/translate/translate_lab.h"
#include "core/translate/translate_run.h"
#include "core/vae/vae_lab.h"
#include "core/vae/vae_run.h"
#include "core/vae/vq_lab.h"
#include "core/vae/vq_run.h"

namespace genlab {

namespace {

template <class L>
void open_with(Session& session, const std::string& path) {
  session.lab<L>().load(path);
}

// The VAE tab holds two labs: Gaussian latents (AE, VAE, VAE-GAN) and discrete codes (VQ-VAE).
void open_autoencoder(Session& session, const std::string& path) {
  if (is_vq_kind(read_checkpoint_info(path).model)) return session.lab<VqLab>().load(path);
  session.lab<VaeLab>().load(path);
}

// The Diffusion tab holds two labs: pixel diffusion guided by class, and latent text-to-image.
void open_diffusion(Session& session, const std::string& path) {
  if (read_checkpoint_info(path).model == "ddpm") return session.lab<DiffusionLab>().load(path);
  session.lab<LdmLab>().load(path);  // an ldm; a klae alone is refused there, naming the file
}

}  // namespace

// Each entry: name, title, checkpoint kinds; train, sample, eval; eval needs the classifier,
// sample takes diffusion's settings; shipped files; how the app opens one, and which it opens at start;
// how the Compare table opens one.
const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      {"vae", "VAE / AE", {"vae", "ae", "vaegan", "vqvae", "vqprior"},
       train_vae, sample_vae, eval_vae, /*eval_needs_classifier=*/false, /*sampling_steps=*/false,
       {"vae-fashion-conv16.safetensors", "ae-fashion-conv16.safetensors", "vae-fashion-latent2.safetensors",
        "vaegan-fashion.safetensors", "vqvae-fashion.safetensors", "vqprior-fashion.safetensors"},
       // The VAE first: the tab shows the first model to appear. The VQ-VAE opens when its mode is first shown.
       open_autoencoder, {"vae-fashion-conv16.safetensors", "ae-fashion-conv16.safetensors", "vaegan-fashion.safetensors"},
       comparable_vae},
      {"gan", "GAN", {"gan", "progan", "stylegan"},
       train_gan, sample_gan, eval_gan, /*eval_needs_classifier=*/true, /*sampling_steps=*/false,
       {"cgan-fashion.safetensors", "progan-fashion.safetensors", "stylegan-fashion.safetensors"},
       open_with<GanLab>, {"cgan-fashion.safetensors"}, comparable_gan},
      {"diffusion", "Diffusion", {"ddpm", "klae", "ldm"},
       train_ddpm, sample_ddpm, eval_ddpm, /*eval_needs_classifier=*/true, /*sampling_steps=*/true,
       {"ddpm-fashion-cond.safetensors", "ddpm-fashion-cond-student.safetensors", "klae-fashion.safetensors",
        "ldm-fashion.safetensors"},
       // Both labs of the tab (the guided DDPM with its distilled student beside it); the Prompt view
       // opens on the text-to-image model.
       open_diffusion, {"ddpm-fashion-cond.safetensors", "ldm-fashion.safetensors"}, comparable_diffusion},
      {"translate", "Image to image", {"pix2pix", "cyclegan", "stargan"},
       train_translate, nullptr, eval_translate, /*eval_needs_classifier=*/false, /*sampling_steps=*/false,
       {"pix2pix-fashion-edges.safetensors", "pix2pix-fashion-superres4.safetensors", "cyclegan-fashion-sneaker-boot.safetensors",
        "stargan-fashion-footwear.safetensors"},
       open_with<TranslateLab>, {"pix2pix-fashion-edges.safetensors"}},
      // The LeNet behind FID-LeNet: trained and evaluated like the others; no samples, no lab.
      {"classifier", "Classifier (FID-LeNet)", {"classifier"},
       train_classifier, nullptr, eval_classifier, /*eval_needs_classifier=*/false, /*sampling_steps=*/false,
       {"classifier-fashion.safetensors"},
       nullptr, {}},
  };
  return table;
}

const Family& family_of_kind(const std::string& kind, const std::string& what) {
  for (const Family& f : families())
    for (const std::string& k : f.kinds)
      if (k == kind) return f;
  throw std::invalid_argument(what + ": no model family reads '" + kind + "' checkpoints");
}

const Family& family_of_checkpoint(const std::string& path) {
  return family_of_kind(read_checkpoint_info(path).model, path);
}

const Family& open_in_lab(Session& session, const std::string& path) {
  const Family& family = family_of_checkpoint(path);
  if (!family.open_in_lab) throw std::invalid_argument(path + ": a " + family.title + " model has no lab to open it in");
  family.open_in_lab(session, path);
  return family;
}

std::vector<std::string> trainable_kinds() {
  std::vector<std::string> out;
  for (const Family& f : families())
    if (f.train) out.insert(out.end(), f.kinds.begin(), f.kinds.end());
  return out;
}

std::string train_model(const TrainArgs& args, const LogLine& log) {
  if (args.out.empty()) throw std::invalid_argument("--out is required");
  refuse_shipped_path(args.out);  // the shipped models stay as they came, as in the labs
  return family_of_kind(args.model, "--model").train(args, log);
}

std::string sample_model(const SampleArgs& args) {
  const Family& family = family_of_checkpoint(args.checkpoint);
  if (!family.sample)
    throw std::invalid_argument(args.checkpoint + ": " + family.title + " models draw no samples from noise" +
                                (family.name == "translate" ? " (genlab-cli translate takes a picture through one)" : ""));
  // A model that draws in one step: refuse the diffusion settings rather than ignore them.
  if (!family.sampling_steps)
    refuse_options(args, {"--sampler", "--steps", "--cfg", "--eta", "--gif", "--cfg-schedule"},
                   args.checkpoint + " is not a diffusion model, it has no sampling steps");
  const std::string kind = read_checkpoint_info(args.checkpoint).model;
  if (kind == "ldm") refuse_options(args, {"--cfg-schedule"}, "guidance schedules are the pixel model's (ddpm) for now");
  if (kind != "vqprior")
    refuse_options(args, {"--temperature", "--top-k", "--vqvae"}, args.checkpoint + " is not a prior over VQ-VAE codes");
  if (kind != "ldm") refuse_options(args, {"--prompt", "--negative"}, args.checkpoint + " is not a text-to-image model");
  return family.sample(args);
}

std::string eval_model(EvalArgs args, const LogLine& log) {
  const Family& family = family_of_checkpoint(args.checkpoint);
  if (args.classifier.empty()) args.classifier = find_shipped_model("classifier-fashion.safetensors");
  if (args.classifier.empty() && family.eval_needs_classifier)
    throw std::invalid_argument("no classifier for FID-LeNet: train one (genlab-cli train --model classifier --out "
                                "C.safetensors) and pass --classifier C.safetensors");
  return family.eval(args, log);
}

}  // namespace genlab
