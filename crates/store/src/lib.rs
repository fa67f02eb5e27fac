//! trestle-store: see ARCHITECTURE.md for this crate's place in the product.
