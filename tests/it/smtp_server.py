#!/usr/bin/env python3
"""Throwaway SMTP receiver for the receipts tests (loopback only).

Implicit TLS when --cert/--key are given (STARTTLS instead with --starttls), optional AUTH (--auth user:password), every
accepted message saved as <dir>/<n>.eml plus <n>.json (envelope). Failure modes:
--tempfail N answers 451 to the end of DATA for the first N messages, --reject answers
550 to every message, --exit-after-data stores the first message and then dies without
answering (the client cannot know it was delivered). The bound port is written to --port-file once listening.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out_dir, tempfail, reject, exit_after_data=False):
        self.exit_after_data = exit_after_data
        self.out_dir = out_dir
        self.tempfail = tempfail
        self.reject = reject
        self.seen = 0
        self.saved = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.reject:
            return "550 5.7.1 Message rejected as spam (test server)"
        if self.seen <= self.tempfail:
            return "451 4.3.0 Temporary failure, try again later (test server)"
        self.saved += 1
        base = os.path.join(self.out_dir, "%04d" % self.saved)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        # The .eml appears last, complete, so a reader never sees half a file.
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        if self.exit_after_data:
            os._exit(0)
        return "250 2.0.0 OK queued as test-%d" % self.saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--reject", action="store_true")
    ap.add_argument("--exit-after-data", action="store_true")
    ap.add_argument("--starttls", action="store_true", help="plain port, STARTTLS required")
    args = ap.parse_args()

    handler = Handler(args.dir, args.tempfail, args.reject, args.exit_after_data)
    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers 535 itself on failure.
            return AuthResult(success=ok, handled=False)

    ctx = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    starttls_ctx = ctx if args.starttls else None
    implicit_ctx = None if args.starttls else ctx

    def factory():
        return SMTP(
            handler,
            hostname="test-smtp.local",
            authenticator=authenticator,
            auth_required=bool(args.auth),
            auth_require_tls=False,
            decode_data=False,
            tls_context=starttls_ctx,
            require_starttls=bool(starttls_ctx),
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", args.port, ssl=implicit_ctx)
        port = server.sockets[0].getsockname()[1]
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.rename(tmp, args.port_file)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
