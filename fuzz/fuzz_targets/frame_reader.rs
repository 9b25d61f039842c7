//! Fuzz target: `wirehub::fuzzing::frame_reader` never panics and its invariants hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = wirehub::fuzzing::frame_reader(data) {
        panic!("{broken}");
    }
});
