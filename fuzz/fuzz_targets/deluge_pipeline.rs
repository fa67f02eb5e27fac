//! Lexer, parser, compiler and VM on arbitrary bytes, with small limits and every effect
//! answered with null. The per-input logic is `trestle_deluge::fuzzing::run_one`, which the
//! test suite also runs on thousands of inputs. Each input also runs compiled with and
//! without the VM's fused fast paths, which must behave identically.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = trestle_deluge::fuzzing::run_one(bytes);
    if let Some(difference) = trestle_deluge::fuzzing::fast_paths_difference(bytes) {
        panic!("the fast paths changed what the program does:\n{difference}");
    }
});
