//! trestle-deluge-syntax: see ARCHITECTURE.md for this crate's place in the product.
