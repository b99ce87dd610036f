#pragma once
// How closely a machine model simulates, chosen per experiment and mapped by
// each machine kind onto its own modes.
namespace xpu {

// tile: closed-form timing, values in bulk (the default); pe: every PE /
// thread stepped; timing: tile timing without values (fast sweeps).
enum class Fidelity { tile, pe, timing };

inline const char* fidelity_name(Fidelity f) {
  switch (f) {
    case Fidelity::tile: return "tile";
    case Fidelity::pe: return "pe";
    case Fidelity::timing: return "timing";
  }
  return "?";
}

}  // namespace xpu
