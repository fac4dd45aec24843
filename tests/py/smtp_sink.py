#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd): every message it accepts is
written byte for byte, as it came over the wire, to DIR/<n>.eml, and its
envelope to DIR/<n>.json. Prints "ready" once it listens.

usage: smtp_sink.py PORT DIR
"""
import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.out, f"{self.n:04d}")
        # Written under a temporary name, then renamed: a reader never sees half.
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK kept"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    c = Controller(Keep(out), hostname="127.0.0.1", port=port)
    c.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    main()
