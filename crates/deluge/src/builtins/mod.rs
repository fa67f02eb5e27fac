//! Built-in functions and methods of Deluge.
