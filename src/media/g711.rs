//! G.711 µ-law and A-law (ITU-T G.711) sample conversion. Hand-written: it is a
//! dozen lines of bit arithmetic with fixed tables; the crates that carry it drag in
//! whole codec frameworks. Decode is a const table lookup; encode is arithmetic
//! (prompts are encoded once at start, not per packet).

/// Serialized by its codec name, PCMU or PCMA, the name tables and SDP use
/// (metadata written before 0.5 said `Mu` and `A`, still read).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Law {
    /// PCMU, static payload type 0.
    #[serde(rename = "PCMU", alias = "Mu")]
    Mu,
    /// PCMA, static payload type 8.
    #[serde(rename = "PCMA", alias = "A")]
    A,
}

impl Law {
    pub fn name(self) -> &'static str {
        match self {
            Law::Mu => "PCMU",
            Law::A => "PCMA",
        }
    }
    pub fn from_name(s: &str) -> Option<Law> {
        match s {
            "PCMU" => Some(Law::Mu),
            "PCMA" => Some(Law::A),
            _ => None,
        }
    }
    /// The code for digital silence (used to fill gaps in recordings).
    pub fn silence(self) -> u8 {
        match self {
            Law::Mu => 0xFF,
            Law::A => 0xD5,
        }
    }
    pub fn decode(self, b: u8) -> i16 {
        match self {
            Law::Mu => ULAW_DECODE[b as usize],
            Law::A => ALAW_DECODE[b as usize],
        }
    }
    pub fn encode(self, s: i16) -> u8 {
        match self {
            Law::Mu => linear_to_ulaw(s),
            Law::A => linear_to_alaw(s),
        }
    }
}

const fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exp = ((u >> 4) & 0x07) as i32;
    let mant = (u & 0x0F) as i32;
    let s = (((mant << 3) + 0x84) << exp) - 0x84;
    (if sign != 0 { -s } else { s }) as i16
}

const fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn table(mu: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if mu {
            ulaw_to_linear(i as u8)
        } else {
            alaw_to_linear(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = table(true);
static ALAW_DECODE: [i16; 256] = table(false);

fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mant = (s >> (exp + 3)) & 0x0F;
    !((sign | (exp << 4) | mant) as u8)
}

fn linear_to_alaw(sample: i16) -> u8 {
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut s = (sample as i32) >> 3;
    let mask = if s >= 0 {
        0xD5
    } else {
        s = -s - 1;
        0x55
    };
    let Some(seg) = SEG_END.iter().position(|&e| s <= e) else {
        return (0x7F ^ mask) as u8;
    };
    let mut aval = (seg as i32) << 4;
    aval |= if seg < 2 {
        (s >> 1) & 0x0F
    } else {
        (s >> seg) & 0x0F
    };
    (aval ^ mask) as u8
}

/// Decode a G.711 payload, appending linear samples.
pub fn decode_into(law: Law, payload: &[u8], out: &mut Vec<i16>) {
    out.extend(payload.iter().map(|&b| law.decode(b)));
}

/// Mean absolute amplitude of a payload: a cheap voice-activity measure.
pub fn mean_abs(law: Law, payload: &[u8]) -> u32 {
    if payload.is_empty() {
        return 0;
    }
    let sum: u32 = payload
        .iter()
        .map(|&b| law.decode(b).unsigned_abs() as u32)
        .sum();
    sum / payload.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert_eq!(Law::Mu.decode(0xFF), 0);
        assert_eq!(Law::Mu.decode(0x7F), 0);
        assert_eq!(Law::Mu.decode(0x80), 32124);
        assert_eq!(Law::Mu.decode(0x00), -32124);
        assert_eq!(Law::A.decode(0xD5), 8);
        assert_eq!(Law::A.decode(0xAA), 32256);
        assert_eq!(Law::Mu.encode(0), 0xFF);
        assert_eq!(Law::A.encode(0), 0xD5);
    }

    #[test]
    fn every_code_round_trips() {
        for law in [Law::Mu, Law::A] {
            for b in 0..=255u8 {
                let s = law.decode(b);
                let again = law.encode(s);
                // µ-law has two zeros (0x7F, 0xFF): both decode to 0 and encode to 0xFF.
                assert_eq!(law.decode(again), s, "{law:?} {b:#x}");
            }
        }
    }

    #[test]
    fn quantisation_error_is_small() {
        for law in [Law::Mu, Law::A] {
            for s in (-32000i32..32000).step_by(97) {
                let d = law.decode(law.encode(s as i16)) as i32;
                let tol = (s.abs() / 16).max(16);
                assert!((d - s).abs() <= tol, "{law:?} {s} -> {d}");
            }
        }
    }
}
