#![no_main]
//! See `crates/tinjau-fuzz`: the body of this target.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tinjau_fuzz::bundle(data));
