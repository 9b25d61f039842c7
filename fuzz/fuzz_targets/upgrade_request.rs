//! Fuzz target: `wirehub::fuzzing::upgrade_request` never panics and its invariants hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = wirehub::fuzzing::upgrade_request(data) {
        panic!("{broken}");
    }
});
