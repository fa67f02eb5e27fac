//! trestle-functions: drives Deluge runs to completion by performing their effects.
