/* alsa-lib prints its errors straight to stderr (a headless machine's `join` would show a page
 * of "cannot find card '0'" before its own one-line note). Its error handler is variadic, which
 * stable Rust cannot define, so this shim formats each message and hands it to Rust, which logs
 * it at debug level (visible with -vv). */
#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

extern void rtc_assist_alsa_message(const char *message);

static void forward(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    char text[512];
    char message[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (err != 0) {
        snprintf(message, sizeof message, "%s:%d (%s) %s: %s", file, line, function, text, snd_strerror(err));
    } else {
        snprintf(message, sizeof message, "%s:%d (%s) %s", file, line, function, text);
    }
    rtc_assist_alsa_message(message);
}

void rtc_assist_route_alsa_errors(void) {
    snd_lib_error_set_handler(forward);
}
