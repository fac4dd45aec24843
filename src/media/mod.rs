//! Media: G.711 and Opus codecs, RTP receive/send for one call, RFC 4733 DTMF, and the
//! voicemail recorder. All sans-IO; the call actor owns the socket.
//! Depends on the `rtp`/`webrtc-util` crates for header (un)marshalling.

pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod import;
pub mod inband;
pub mod quality;
pub mod recorder;
pub mod rtp;
pub mod srtp;
