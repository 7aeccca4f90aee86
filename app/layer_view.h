// Toolkit: the layer view (the stylegan3 visualizer's layer widget), shared by the panels of the
// generators and decoders: pick a layer, see its channels' feature maps in a grid, hover one to
// enlarge it with its mean and standard deviation, and every channel's statistics in one strip.
// UI thread only.
#pragma once

#include <cstdint>

#include "app/gl_image.h"
#include "core/compute/latest.h"
#include "core/data/layer_view.h"

namespace genlab::app {

struct LayerViewState {
  int layer = -1;   // the layer to ask the lab for (-1: the last); the combo sets it
  int pinned = 0;   // the channel enlarged while the mouse is elsewhere (a click on a cell pins one)
  // The widget's own: the textures, and which channel of which snapshot the enlarged one holds.
  DisplayImage maps, enlarged;
  uint64_t enlarged_key = 0, enlarged_stamp = 0;
  int enlarged_channel = -1;
  int strip_hovered = -1;  // the channel under the mouse in the statistics strip, last frame
};

// Draws `snapshot` (null: none published yet). Returns true when the user picked another layer: the
// caller then asks its lab for state.layer.
bool draw_layer_view(LayerViewState& state, ImageRenderer& renderer, const Snapshot<LayerView>* snapshot);

}  // namespace genlab::app
