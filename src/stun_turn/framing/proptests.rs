//! Property tests: a stream of STUN messages and padded ChannelData frames splits back into
//! exactly those frames, and every ChannelData frame unpads to its datagram.

use proptest::prelude::*;

use super::{next_frame_len, padded, unpadded};

/// A frame as sent over a stream and the datagram it carries.
fn frame() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let body = prop::collection::vec(any::<u8>(), 0..200);
    prop_oneof![
        (0u16..0x4000, body.clone()).prop_map(|(typ, attrs)| {
            let mut m = typ.to_be_bytes().to_vec();
            m.extend((attrs.len() as u16).to_be_bytes());
            m.extend([0x21, 0x12, 0xa4, 0x42]);
            m.extend([7u8; 12]);
            m.extend(attrs);
            (m.clone(), m)
        }),
        (0x4000u16..0x8000, body).prop_map(|(channel, data)| {
            let mut d = channel.to_be_bytes().to_vec();
            d.extend((data.len() as u16).to_be_bytes());
            d.extend(data);
            (padded(&d), d)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn streams_split_into_their_frames(frames in prop::collection::vec(frame(), 1..6)) {
        let stream: Vec<u8> = frames.iter().flat_map(|(f, _)| f.iter().copied()).collect();
        let mut rest = &stream[..];
        for (f, datagram) in &frames {
            if f[0] >> 6 == 1 {
                prop_assert_eq!(f.len() % 4, 0);
            }
            for short in 0..f.len() {
                prop_assert_eq!(next_frame_len(&rest[..short]), Ok(None));
            }
            prop_assert_eq!(next_frame_len(rest), Ok(Some(f.len())));
            prop_assert_eq!(unpadded(&rest[..f.len()]), &datagram[..]);
            rest = &rest[f.len()..];
        }
        prop_assert_eq!(next_frame_len(rest), Ok(None));
    }
}
