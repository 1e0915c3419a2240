"""A real SMTP relay for the notification service's TLS tests.

aiosmtpd on 127.0.0.1 with a certificate from a throwaway test CA (trustme), speaking either
STARTTLS (required before anything else) or implicit TLS, and taking AUTH PLAIN or LOGIN for
one user only once the connection is encrypted. It writes the CA's certificate to --ca, prints
`port <n>` when it listens, stores each message it accepts as a file in --spool, and runs
until it is killed.

    python relay.py --mode starttls --user relay-user --password s3cret --ca ca.pem --spool out/
"""

import argparse
import asyncio
import pathlib
import socket
import ssl
import uuid

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Spool:
    """Keeps every accepted message as a file."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        (self.folder / f"{uuid.uuid4()}.eml").write_bytes(envelope.original_content)
        return "250 Message accepted for delivery"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        good = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # Not handled: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=good, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["starttls", "tls"], required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", required=True, help="where to write the CA certificate (PEM)")
    parser.add_argument("--spool", required=True, help="folder for the accepted messages")
    args = parser.parse_args()

    ca = trustme.CA()
    ca.cert_pem.write_to_path(args.ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    spool = pathlib.Path(args.spool)
    spool.mkdir(parents=True, exist_ok=True)

    port = free_port()
    options = dict(
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        authenticator=authenticator(args.user, args.password),
        auth_require_tls=True,
    )
    if args.mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        # The whole connection is TLS: AUTH need not wait for STARTTLS.
        options.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(Spool(spool), **options)
    controller.start()
    print(f"port {port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
