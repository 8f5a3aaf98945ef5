//! What a TURN error code means, in plain words: shared by the TURN probe's verdicts and by
//! `analyze` reading the same codes out of a browser's dump.

/// The plain cause of a TURN (STUN) error code, or of 701 (Chrome's "no answer").
pub fn cause(code: u16) -> &'static str {
    match code {
        701 => "no answer from the server: blocked port, wrong host, or nothing listening",
        400 => "bad request (some servers' answer to failed authentication)",
        401 => "unauthorized: wrong or expired username/credential",
        403 => "forbidden: the server refuses this client or peer",
        437 => "allocation mismatch: an allocation already exists for this 5-tuple",
        438 => "stale nonce, and the retry with the new nonce failed too",
        441 => "wrong credentials: the username differs from the allocation's",
        442 => "unsupported transport protocol",
        486 => "allocation quota reached for this username",
        508 => "insufficient capacity: the server is out of relay ports or permissions",
        _ => "error response",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalogued_code_has_its_own_cause() {
        let codes = [701, 400, 401, 403, 437, 438, 441, 442, 486, 508];
        let causes: std::collections::BTreeSet<_> = codes.iter().map(|&c| super::cause(c)).collect();
        assert_eq!(causes.len(), codes.len());
        assert_eq!(super::cause(599), "error response");
    }
}
