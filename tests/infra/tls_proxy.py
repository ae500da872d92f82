"""A loopback TLS-terminating proxy, run as its own process by the Kafka TLS test.

``python tls_proxy.py CERT KEY TARGET_PORT`` listens on a free loopback port, prints
it on one line, and pipes every TLS connection's bytes to ``127.0.0.1:TARGET_PORT``
in plain TCP until it is terminated. A process, not a thread of the test run: an
event loop serving TLS on a second thread of the pytest process made CPython 3.11's
``ast`` module fail later ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import asyncio
import ssl
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main(cert: str, key: str, target_port: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream[1]), _pipe(upstream[0], writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
