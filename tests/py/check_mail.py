#!/usr/bin/env python3
"""Read a voicemail email the way a mail client does (Python's `email`
package) and print what the tests check, as JSON: the headers, the parts,
the attachment's type, filename (RFC 2231 decoded) and the audio's length in
milliseconds, decoded independently of openum (Ogg/Opus from the last page's
granule position less the pre-skip, RFC 7845; WAV with the `wave` module).

usage: check_mail.py FILE.eml
"""
import email
import email.policy
import io
import json
import struct
import sys
import wave


def ogg_opus_ms(data):
    pos, pre_skip, last_granule, pages = 0, None, 0, 0
    while True:
        i = data.find(b"OggS", pos)
        if i < 0:
            break
        granule = struct.unpack_from("<q", data, i + 6)[0]
        nseg = data[i + 26]
        lacing = data[i + 27 : i + 27 + nseg]
        body = i + 27 + nseg
        size = sum(lacing)
        payload = data[body : body + size]
        if payload.startswith(b"OpusHead"):
            pre_skip = struct.unpack_from("<H", payload, 10)[0]
        if granule >= 0:
            last_granule = granule
        pages += 1
        pos = body + size
    if pre_skip is None:
        raise ValueError("no OpusHead: not Ogg/Opus")
    return (last_granule - pre_skip) * 1000.0 / 48000.0, pages


def mp3_ms(data):
    """Frames × samples per frame / rate (MPEG audio layer III headers)."""
    br1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    br2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
    rates = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}
    pos, frames, samples, rate = 0, 0, 0, None
    if data[:3] == b"ID3":
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + size
    while pos + 4 <= len(data):
        h = int.from_bytes(data[pos:pos + 4], "big")
        if (h >> 21) & 0x7FF != 0x7FF:
            pos += 1
            continue
        version, layer = (h >> 19) & 3, (h >> 17) & 3
        bi, si, pad = (h >> 12) & 15, (h >> 10) & 3, (h >> 9) & 1
        if layer != 1 or version == 1 or bi in (0, 15) or si == 3:
            pos += 1
            continue
        rate = rates[version][si]
        br = (br1 if version == 3 else br2)[bi] * 1000
        per = 1152 if version == 3 else 576
        length = (144 if version == 3 else 72) * br // rate + pad
        frames += 1
        samples += per
        pos += length
    if not frames:
        raise ValueError("no MPEG layer III frame")
    return samples * 1000.0 / rate, frames


def wav_ms(data):
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() * 1000.0 / w.getframerate()


def main():
    raw = open(sys.argv[1], "rb").read()
    lines = raw.split(b"\r\n")
    bare_lf = any(b"\n" in l for l in lines)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "crlf_only": not bare_lf and raw.endswith(b"\r\n"),
        "longest_line": max(len(l) for l in lines),
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "content_type": msg.get_content_type(),
        "headers": {k: str(v) for k, v in msg.items()},
        "parts": [],
        "defects": [str(d) for d in msg.defects],
    }
    for part in msg.walk():
        info = {"type": part.get_content_type()}
        info["defects"] = [str(d) for d in part.defects]
        if part.get_content_maintype() == "text":
            info["text"] = part.get_content()
        if part.get_content_disposition() == "attachment":
            data = part.get_payload(decode=True)
            info["filename"] = part.get_filename()
            info["codecs"] = part.get_param("codecs")
            info["bytes"] = len(data)
            info["content_duration"] = part.get("Content-Duration")
            if part.get_content_type() == "audio/ogg":
                info["ms"], info["pages"] = ogg_opus_ms(data)
            elif part.get_content_type() == "audio/mpeg":
                info["ms"], info["frames"] = mp3_ms(data)
            elif part.get_content_type() in ("audio/wav", "audio/x-wav"):
                info["ms"] = wav_ms(data)
        out["parts"].append(info)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
