//! Fuzz target: ICE candidate attributes through the RFC 8839 parser and printer;
//! the properties are `rtc_assist::fuzzing::candidate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtc_assist::fuzzing::candidate(data));
