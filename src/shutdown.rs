//! One shutdown signal every task listens to: cancelled on Ctrl-C (or by tests).

use tokio_util::sync::CancellationToken;

/// A token cancelled when the process receives Ctrl-C.
pub fn on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
            t.cancel();
        }
    });
    token
}
