//! RTP (RFC 3550) for one call, sans-IO: [`RtpReceiver`] classifies incoming
//! packets (audio of any payload type the answer listed, or of a G.711 law the
//! offer had — RFC 3264 §5.1 lets the offerer switch per packet — for the
//! recorder; RFC 4733 events for the DTMF detector; anything else counted as
//! foreign) and maps their timestamps onto a monotonic index in the call codec's
//! clock units (a switch to a codec of another clock rate starts a new timestamp
//! space where the stream is); [`RtpSender`] paces prompt audio at one packet per
//! ptime (G.711 at the negotiated 10–60 ms), on an exact grid derived from the
//! start instant so it never drifts, with RFC 3550 §5.1 timestamp and marker
//! rules. Both know the call's [`Codec`]: G.711 (8 kHz clock, a byte a sample) or
//! Opus (RFC 7587: 48 kHz clock, one 20 ms frame a packet).
//!
//! Headers are printed with the `rtp` crate. They are parsed here: `rtp` 0.17's
//! `Header::unmarshal` panics on an RFC 8285 extension element longer than its
//! extension block (found by `tools/fuzz rtp_receive`), and a packet from the network
//! must never take a worker down. We need no extension contents, only the payload
//! offset, so [`parse_header`] is a total RFC 3550 §5.1 parser. Everything here takes
//! `now` as input.

use super::codec::{Codec, FRAME_8K, OpusFmtp, OpusTx};
use super::dtmf::DtmfDetector;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc_util::Marshal;

/// Samples per 20 ms at 8 kHz.
pub const FRAME: usize = FRAME_8K;
pub const PTIME: Duration = Duration::from_millis(20);
/// Room [`RtpSender::poll_packet`] needs: a header and the largest payload (an
/// Opus frame is capped well below this by its bitrate).
pub const MAX_PACKET: usize = 12 + 1200;

/// What an incoming packet was.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// Audio of `codec` (still encoded) starting at `index`, in the call codec's
    /// RTP clock units (monotonic across SSRC and codec changes).
    Audio {
        index: u64,
        payload: &'a [u8],
        codec: Codec,
    },
    /// A completed RFC 4733 digit.
    Dtmf(char),
    /// Nothing to do (DTMF in progress, comfort noise, duplicate, …).
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("not an RTP packet: {0}")]
    Malformed(&'static str),
    #[error("unexpected payload type {0}")]
    PayloadType(u8),
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct RxStats {
    pub packets: u64,
    pub malformed: u64,
    /// Packets of a payload type we cannot decode (dropped).
    pub foreign_pt: u64,
    /// Packets of a G.711 law the offer listed but the answer did not (kept).
    pub unanswered_pt: u64,
    pub dtmf_digits: u64,
}

/// A payload type the receiver decodes.
#[derive(Debug, Clone, Copy)]
struct PtEntry {
    pt: u8,
    codec: Codec,
    answered: bool,
}

/// Payload types RFC 3551 gives comfort noise: 13 (RFC 3389) and the old 19.
const CN_PTS: [u8; 2] = [13, 19];

#[derive(Debug)]
pub struct RtpReceiver {
    /// The call's codec: indices are in its clock units.
    codec: Codec,
    /// What we decode: the answer's codecs (the call's first), then G.711 laws
    /// the offer had and the answer left out. Any of them may come in any
    /// packet (RFC 3264 §5.1: the offerer may switch without re-negotiating).
    pts: Vec<PtEntry>,
    dtmf_pt: Option<u8>,
    ssrc: Option<u32>,
    /// The clock rate of the timestamps since the last rebase (a switch between
    /// codecs of other clock rates starts a new timestamp space).
    stream_rate: u32,
    /// RTP timestamp that maps to sample index `base_index`.
    base_ts: u32,
    base_index: u64,
    /// One past the highest sample index seen.
    high: u64,
    last_at: Option<Instant>,
    dtmf: DtmfDetector,
    pub stats: RxStats,
    /// Loss and jitter (RFC 3550), for the call data record.
    pub quality: super::quality::Quality,
}

impl RtpReceiver {
    /// A receiver of `codec` at `pt` only (see [`Self::set_payload_types`]).
    pub fn new(codec: Codec, pt: u8, dtmf_pt: Option<u8>) -> Self {
        RtpReceiver {
            codec,
            pts: vec![PtEntry {
                pt,
                codec,
                answered: true,
            }],
            dtmf_pt,
            ssrc: None,
            stream_rate: codec.clock_rate(),
            base_ts: 0,
            base_index: 0,
            high: 0,
            last_at: None,
            dtmf: DtmfDetector::default(),
            stats: RxStats::default(),
            quality: Default::default(),
        }
    }

    /// The payload types of the answer (`joint`, the call's codec first) and the
    /// G.711 ones offered but not answered; set at the start and after each
    /// re-INVITE. The call's codec stays what it was.
    pub fn set_payload_types(
        &mut self,
        joint: &[(Codec, u8)],
        unanswered: &[(Codec, u8)],
        dtmf_pt: Option<u8>,
    ) {
        let entry = |answered| {
            move |&(codec, pt): &(Codec, u8)| PtEntry {
                pt,
                codec,
                answered,
            }
        };
        let mut pts: Vec<PtEntry> = joint.iter().map(entry(true)).collect();
        pts.extend(
            unanswered
                .iter()
                .filter(|(c, _)| matches!(c, Codec::G711(_)))
                .map(entry(false)),
        );
        if !pts.is_empty() {
            self.pts = pts;
        }
        self.dtmf_pt = dtmf_pt;
    }

    fn rebase(&mut self, ssrc: u32, ts: u32, rate: u32) {
        self.ssrc = Some(ssrc);
        self.stream_rate = rate;
        self.base_ts = ts;
        self.base_index = self.high;
    }

    /// `v` in the packet's clock units, in the call codec's.
    fn scale(&self, v: i64, rate: u32) -> i64 {
        let ours = self.codec.clock_rate();
        if rate == ours {
            v
        } else {
            v * ours as i64 / rate as i64
        }
    }

    pub fn handle<'a>(&mut self, now: Instant, packet: &'a [u8]) -> Result<Received<'a>, RtpError> {
        let (header, payload) = parse_header(packet).inspect_err(|_| self.stats.malformed += 1)?;
        self.stats.packets += 1;
        let pt = header.payload_type;
        if Some(pt) == self.dtmf_pt {
            let rate = self.codec.clock_rate();
            self.quality.packet(
                now,
                header.ssrc,
                header.sequence_number,
                header.timestamp,
                rate,
                false,
            );
            self.dtmf.age(now);
            return Ok(match self.dtmf.handle(header.timestamp, payload) {
                Some(c) => {
                    self.stats.dtmf_digits += 1;
                    Received::Dtmf(c)
                }
                None => Received::Nothing,
            });
        }
        let Some(&PtEntry {
            codec, answered, ..
        }) = self.pts.iter().find(|e| e.pt == pt)
        else {
            if CN_PTS.contains(&pt) {
                let rate = self.codec.clock_rate();
                self.quality.packet(
                    now,
                    header.ssrc,
                    header.sequence_number,
                    header.timestamp,
                    rate,
                    false,
                );
                return Ok(Received::Nothing); // comfort noise: treat as silence
            }
            self.stats.foreign_pt += 1;
            return Err(RtpError::PayloadType(pt));
        };
        if !answered {
            self.stats.unanswered_pt += 1;
        }
        let gap = self.last_at.map(|t| now.saturating_duration_since(t));
        self.last_at = Some(now);
        let rate = codec.clock_rate();
        self.quality.update(
            now,
            header.ssrc,
            header.sequence_number,
            header.timestamp,
            rate,
        );
        if self.ssrc != Some(header.ssrc) || rate != self.stream_rate {
            self.rebase(header.ssrc, header.timestamp, rate);
        }
        let delta = header.timestamp.wrapping_sub(self.base_ts) as i32 as i64;
        let index = self.base_index as i64 + self.scale(delta, rate);
        // A timestamp jump far beyond the wall-clock gap (a sender that restarted its
        // clock without a new SSRC) would fill the recording with minutes of silence:
        // treat it as a new stream that continues where we are.
        let ours = self.codec.clock_rate() as i64;
        let limit = gap.unwrap_or_default().as_millis() as i64 * ours / 1000 + ours;
        if index < self.base_index as i64 - ours || index > self.high as i64 + limit {
            self.rebase(header.ssrc, header.timestamp, rate);
            return Ok(self.audio_at(self.base_index, payload, codec));
        }
        if index < 0 {
            return Ok(Received::Nothing);
        }
        Ok(self.audio_at(index as u64, payload, codec))
    }

    fn audio_at<'a>(&mut self, index: u64, payload: &'a [u8], codec: Codec) -> Received<'a> {
        let len = self.scale(codec.payload_duration(payload) as i64, codec.clock_rate());
        self.high = self.high.max(index + len as u64);
        Received::Audio {
            index,
            payload,
            codec,
        }
    }
}

/// The fixed RTP header fields we use (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Parse an RTP header; returns it and the payload (CSRCs, extension and padding
/// removed). Every length is checked against the packet.
pub fn parse_header(p: &[u8]) -> Result<(RtpHeader, &[u8]), RtpError> {
    if p.len() < 12 {
        return Err(RtpError::Malformed("header"));
    }
    if p[0] >> 6 != 2 {
        return Err(RtpError::Malformed("version"));
    }
    let mut start = 12 + 4 * (p[0] & 0x0f) as usize;
    if p[0] & 0x10 != 0 {
        let words = p
            .get(start + 2..start + 4)
            .ok_or(RtpError::Malformed("extension"))?;
        start += 4 + 4 * u16::from_be_bytes([words[0], words[1]]) as usize;
    }
    let mut end = p.len();
    if p[0] & 0x20 != 0 {
        let pad = p[end - 1] as usize;
        if pad == 0 || start + pad > end {
            return Err(RtpError::Malformed("padding"));
        }
        end -= pad;
    }
    if start > end {
        return Err(RtpError::Malformed("extension"));
    }
    let h = RtpHeader {
        marker: p[1] & 0x80 != 0,
        payload_type: p[1] & 0x7f,
        sequence_number: u16::from_be_bytes([p[2], p[3]]),
        timestamp: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    };
    Ok((h, &p[start..end]))
}

/// Audio queued for sending.
#[derive(Debug, Clone)]
pub enum Clip {
    /// G.711 in the call's law.
    G711(Arc<[u8]>),
    /// Opus packets of 20 ms (a prompt, encoded once for every call).
    Opus(super::codec::Packets),
    /// 8 kHz audio known only in the call, encoded as it is sent (Opus calls).
    Pcm(Arc<[i16]>),
}

impl Clip {
    fn len(&self) -> usize {
        match self {
            Clip::G711(a) => a.len(),
            Clip::Opus(p) => p.len(),
            Clip::Pcm(p) => p.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug)]
pub struct RtpSender {
    codec: Codec,
    /// Opus calls: encodes [`Clip::Pcm`] audio; made on first need (most calls
    /// play prompts only, which come encoded).
    opus: Option<OpusTx>,
    fmtp: OpusFmtp,
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    queue: VecDeque<Clip>,
    pos: usize,
    /// Grid origin and packet count since: packet k goes at `origin + k * PTIME`.
    origin: Option<Instant>,
    sent_on_grid: u32,
    /// How much later than planned the grid now runs (stalls it was restarted
    /// after), until taken by [`RtpSender::take_slip`].
    slip: Duration,
    /// When the last packet was sent, to advance the timestamp across idle gaps.
    last_sent: Option<Instant>,
    marker: bool,
    /// The packet time (G.711 follows the offer's a=ptime; Opus sends 20 ms
    /// frames) and the samples a G.711 packet carries.
    ptime: Duration,
    g711_samples: usize,
    pub packets_sent: u64,
}

impl RtpSender {
    pub fn new(codec: Codec, pt: u8, ssrc: u32, seq: u16, ts: u32, fmtp: OpusFmtp) -> Self {
        RtpSender {
            codec,
            opus: None,
            fmtp,
            pt,
            ssrc,
            seq,
            ts,
            queue: VecDeque::new(),
            pos: 0,
            origin: None,
            sent_on_grid: 0,
            slip: Duration::ZERO,
            last_sent: None,
            marker: true,
            ptime: PTIME,
            g711_samples: FRAME,
            packets_sent: 0,
        }
    }

    /// Send G.711 in packets of `ms` (10 to 60, as negotiated); Opus stays at
    /// its 20 ms frames.
    pub fn with_ptime(mut self, ms: u32) -> Self {
        if matches!(self.codec, Codec::G711(_)) && (10..=60).contains(&ms) {
            self.ptime = Duration::from_millis(ms as u64);
            self.g711_samples = 8 * ms as usize;
        }
        self
    }

    /// RTP clock units a packet covers.
    fn ts_step(&self) -> u32 {
        match self.codec {
            Codec::G711(_) => self.g711_samples as u32,
            Codec::Opus => self.codec.ts_per_frame(),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Queue clips; playing starts at `now` if idle.
    pub fn play(&mut self, now: Instant, clips: impl IntoIterator<Item = Clip>) {
        let was_idle = self.is_idle();
        self.queue
            .extend(clips.into_iter().filter(|c| !c.is_empty()));
        if was_idle && !self.queue.is_empty() {
            self.origin = Some(now);
            self.sent_on_grid = 0;
            self.marker = true;
            if let Some(last) = self.last_sent {
                // §5.1: the timestamp keeps counting real time across the silence.
                let idle = now.saturating_duration_since(last).as_micros() as u64
                    * self.codec.clock_rate() as u64
                    / 1_000_000;
                self.ts = self
                    .ts
                    .wrapping_add((idle as u32).saturating_sub(self.ts_step()));
            }
        }
    }

    /// Drop everything queued (barge-in).
    pub fn stop(&mut self) {
        self.queue.clear();
        self.pos = 0;
        self.origin = None;
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// How much later than planned what is playing now ends, because of stalls
    /// since the last call (the grid restarts rather than bursts): the caller heard
    /// a pause of that length.
    pub fn take_slip(&mut self) -> Duration {
        std::mem::take(&mut self.slip)
    }

    /// When the next packet is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let origin = self.origin?;
        if self.queue.is_empty() {
            return None;
        }
        Some(origin + self.ptime * self.sent_on_grid)
    }

    /// Move past what was just consumed of the front clip.
    fn advance(&mut self, n: usize) {
        self.pos += n;
        if self.queue.front().is_some_and(|c| self.pos >= c.len()) {
            self.queue.pop_front();
            self.pos = 0;
        }
    }

    /// One G.711 frame from the queue (several clips may share it), padded with
    /// silence.
    fn g711_frame(&mut self, law: super::g711::Law, body: &mut [u8]) {
        let mut filled = 0;
        let want = body.len();
        while filled < want {
            let Some(clip) = self.queue.front() else {
                break;
            };
            let take = (clip.len() - self.pos).min(want - filled);
            let dst = &mut body[filled..filled + take];
            match clip {
                Clip::G711(a) => dst.copy_from_slice(&a[self.pos..self.pos + take]),
                Clip::Pcm(p) => {
                    for (d, &s) in dst.iter_mut().zip(&p[self.pos..self.pos + take]) {
                        *d = law.encode(s);
                    }
                }
                // Never queued on a G.711 call; dropped rather than sent as noise.
                Clip::Opus(_) => dst.fill(law.silence()),
            }
            filled += take;
            self.advance(take);
        }
        body[filled..].fill(law.silence());
    }

    /// One Opus packet from the front clip; its length (0: nothing to send).
    fn opus_frame(&mut self, body: &mut [u8]) -> usize {
        let pos = self.pos;
        let (n, used) = match self.queue.front() {
            Some(Clip::Opus(p)) => {
                let pkt = &p[pos];
                let n = pkt.len().min(body.len());
                body[..n].copy_from_slice(&pkt[..n]);
                (n, 1)
            }
            Some(Clip::Pcm(p)) => {
                let take = (p.len() - pos).min(FRAME);
                let mut frame = [0i16; FRAME];
                frame[..take].copy_from_slice(&p[pos..pos + take]);
                if self.opus.is_none() {
                    self.opus = OpusTx::new(self.fmtp);
                }
                let n = self.opus.as_mut().map_or(0, |e| e.encode(&frame, body));
                (n, take)
            }
            Some(c @ Clip::G711(_)) => (0, c.len() - pos),
            None => (0, 0),
        };
        self.advance(used);
        n
    }

    /// Write the next packet into `out` if one is due at `now`; returns its length.
    /// `out` must hold [`MAX_PACKET`] bytes.
    pub fn poll_packet(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        let due = self.poll_timeout()?;
        if due > now {
            return None;
        }
        // After a stall (e.g. a suspended process) don't burst: restart the grid.
        if now.saturating_duration_since(due) > 5 * self.ptime.max(PTIME) {
            self.slip += now - due;
            self.origin = Some(now);
            self.sent_on_grid = 0;
        }
        let header = rtp::header::Header {
            version: 2,
            marker: self.marker,
            payload_type: self.pt,
            sequence_number: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
            ..Default::default()
        };
        let n = header.marshal_to(out).ok()?;
        let body_len = match self.codec {
            Codec::G711(law) => {
                let len = self.g711_samples;
                self.g711_frame(law, &mut out[n..n + len]);
                len
            }
            Codec::Opus => self.opus_frame(&mut out[n..]),
        };
        // Time moves on for every frame, sent or not (an encoder error skips one).
        self.ts = self.ts.wrapping_add(self.ts_step());
        self.sent_on_grid += 1;
        self.last_sent = Some(now);
        if self.queue.is_empty() {
            self.origin = None;
        }
        if body_len == 0 {
            return None;
        }
        self.marker = false;
        self.seq = self.seq.wrapping_add(1);
        self.packets_sent += 1;
        Some(n + body_len)
    }
}

#[cfg(test)]
#[path = "rtp_tests.rs"]
mod tests;
