//! alsa-lib's error messages as debug logs instead of raw stderr lines (the C side is
//! `alsa_log.c`): a machine without a sound card then shows our one-line notes only, and `-vv`
//! still shows what ALSA said.

use std::ffi::{CStr, c_char};
use std::sync::Once;

unsafe extern "C" {
    fn rtc_assist_route_alsa_errors();
}

/// Called by the C shim with one formatted message.
#[unsafe(no_mangle)]
extern "C" fn rtc_assist_alsa_message(message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: the shim passes a NUL-terminated buffer that lives for the duration of the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    tracing::debug!("alsa: {text}");
}

/// Installs the handler, once, before the first ALSA call.
pub fn route_errors() {
    static ONCE: Once = Once::new();
    // SAFETY: sets a process-wide function pointer in alsa-lib; `Once` keeps it to one call.
    ONCE.call_once(|| unsafe { rtc_assist_route_alsa_errors() });
}
