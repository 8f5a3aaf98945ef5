//! Splitting a byte stream into STUN messages and ChannelData frames, for STUN/TURN over TCP
//! and TLS where the library only knows datagrams. Both are self-delimiting: a STUN message is
//! its 20-byte header plus the length in bytes 2-3 (RFC 8489 §6); a ChannelData frame is its
//! 4-byte header plus the length in bytes 2-3, padded to a multiple of 4 over streams
//! (RFC 8656 §12.5).

/// Longest message accepted from a stream; anything longer is a framing error.
pub const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("first byte {0:#04x} starts neither a STUN message nor ChannelData")]
    Unknown(u8),
    #[error("message of {0} bytes exceeds {MAX_MESSAGE}")]
    TooLong(usize),
}

/// The size of the next complete frame at the start of `buf` (padding included), `Ok(None)`
/// if more bytes are needed.
pub fn next_frame_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    if buf.len() < 4 {
        return Ok(None);
    }
    let body = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total = match first >> 6 {
        0 => 20 + body,
        1 => 4 + body.div_ceil(4) * 4,
        _ => return Err(FramingError::Unknown(first)),
    };
    if total > MAX_MESSAGE {
        return Err(FramingError::TooLong(total));
    }
    Ok((buf.len() >= total).then_some(total))
}

/// The unpadded length of a ChannelData frame (what the TURN client expects as a datagram).
pub fn unpadded(frame: &[u8]) -> &[u8] {
    if frame.len() >= 4 && frame[0] >> 6 == 1 {
        let body = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
        &frame[..(4 + body).min(frame.len())]
    } else {
        frame
    }
}

/// A ChannelData frame padded for a stream; STUN messages pass unchanged.
pub fn padded(datagram: &[u8]) -> Vec<u8> {
    let mut v = datagram.to_vec();
    if datagram.first().is_some_and(|b| b >> 6 == 1) {
        v.resize(datagram.len().div_ceil(4) * 4, 0);
    }
    v
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stun_and_channel_data() {
        let mut stun = vec![0x01, 0x01, 0x00, 0x08];
        stun.extend([0u8; 16 + 8]);
        assert_eq!(next_frame_len(&stun), Ok(Some(28)));
        assert_eq!(next_frame_len(&stun[..27]), Ok(None));
        let cd = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        assert_eq!(next_frame_len(&cd), Ok(Some(12)));
        assert_eq!(unpadded(&cd), &cd[..9]);
        assert_eq!(padded(&cd[..9]), cd.to_vec());
        assert_eq!(padded(&stun), stun);
        assert_eq!(next_frame_len(&[]), Ok(None));
        assert_eq!(next_frame_len(&[0x00, 0x01]), Ok(None));
    }

    #[test]
    fn hostile_streams_are_errors() {
        assert_eq!(next_frame_len(&[0x80, 0, 0, 0]), Err(FramingError::Unknown(0x80)));
        assert_eq!(next_frame_len(&[0xff, 0xff, 0xff, 0xff]), Err(FramingError::Unknown(0xff)));
        assert_eq!(next_frame_len(&[0x00, 0x01, 0xff, 0xff]), Err(FramingError::TooLong(20 + 0xffff)));
    }
}
