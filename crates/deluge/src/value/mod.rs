//! Deluge values and the per-run heap that owns lists and maps.
