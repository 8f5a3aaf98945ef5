//! Fuzz target: signaling frames through the client and server decoders;
//! the properties are `rtc_assist::fuzzing::protocol`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtc_assist::fuzzing::protocol(data));
