//! Fuzz target: stun:/turn: URLs through the parser and `Display`;
//! the properties are `rtc_assist::fuzzing::ice_url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtc_assist::fuzzing::ice_url(data));
