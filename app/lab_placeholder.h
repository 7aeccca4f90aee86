// A lab whose issue has not landed yet: says what it will hold, so the tab is not a blank page.
#pragma once

namespace genlab::app {

void draw_lab_placeholder(const char* title, const char* what_it_will_do);

}  // namespace genlab::app
