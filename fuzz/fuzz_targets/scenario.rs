//! Fuzz target: scenario files through the TOML loader and its validation;
//! the properties are `rtc_assist::fuzzing::scenario`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtc_assist::fuzzing::scenario(data));
