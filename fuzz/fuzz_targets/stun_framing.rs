//! Fuzz target: byte streams split into STUN messages and ChannelData frames;
//! the properties are `rtc_assist::fuzzing::stun_framing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtc_assist::fuzzing::stun_framing(data));
