// The app's side of the table of families (core/families.h): each family's tab and panel, in tab
// order. A new family adds its panel here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/panel.h"

namespace genlab::app {

struct FamilyTab {
  std::string family;  // the core table's name ("vae"): also the --tab id
  std::string title;   // the tab's label
  std::unique_ptr<Panel> panel;
};

std::vector<FamilyTab> make_family_tabs();

// The panel of type P among `tabs` (for the app's scripted options), or nullptr.
template <class P>
P* find_panel(const std::vector<FamilyTab>& tabs) {
  for (const FamilyTab& tab : tabs)
    if (auto* panel = dynamic_cast<P*>(tab.panel.get())) return panel;
  return nullptr;
}

}  // namespace genlab::app
