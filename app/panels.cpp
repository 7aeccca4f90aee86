#include "app/panels.h"

#include "app/diffusion/diffusion_panel.h"
#include "app/gan/gan_panel.h"
#include "app/translate/translate_panel.h"
#include "app/vae/vae_panel.h"

namespace genlab::app {

std::vector<FamilyTab> make_family_tabs() {
  std::vector<FamilyTab> tabs;
  tabs.push_back({"vae", "VAE", std::make_unique<VaePanel>()});
  tabs.push_back({"gan", "GAN", std::make_unique<GanPanel>()});
  tabs.push_back({"diffusion", "Diffusion", std::make_unique<DiffusionPanel>()});
  tabs.push_back({"translate", "Translate", std::make_unique<TranslatePanel>()});
  return tabs;
}

}  // namespace genlab::app
