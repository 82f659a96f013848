// The player's light and dark looks (Fusion style with a palette).
#pragma once

namespace alluvium::player {

void applyTheme(bool dark);

}  // namespace alluvium::player
