//! trestle-connections: connections, OAuth authorization flows and the token lifecycle.
