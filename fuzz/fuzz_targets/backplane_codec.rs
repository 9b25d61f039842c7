//! Fuzz target: `wirehub::fuzzing::backplane_codec` never panics and its invariants hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = wirehub::fuzzing::backplane_codec(data) {
        panic!("{broken}");
    }
});
