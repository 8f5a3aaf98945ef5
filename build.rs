//! Builds the C shim that routes alsa-lib's error messages into our logs (see
//! `src/media/alsa_log.c`); Linux only, where cpal uses ALSA, and only with the `runtime`
//! feature (the pure core has no audio).

fn main() {
    println!("cargo:rerun-if-changed=src/media/alsa_log.c");
    #[cfg(feature = "runtime")]
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        cc::Build::new().file("src/media/alsa_log.c").compile("rtc_assist_alsa_log");
        println!("cargo:rustc-link-lib=asound");
    }
}
