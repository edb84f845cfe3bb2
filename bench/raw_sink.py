"""P3's Python ceiling: the least a Python process can do to take a PUT body off a socket onto disk.

    python bench/raw_sink.py PORT DATA_FILE PART_SIZE RECV_SIZE

One process, one connection at a time, keep-alive. `PUT /<index>` with a Content-Length writes the
body into DATA_FILE at index × PART_SIZE (the layout Filedock's part PUT uses, the file opened per
part), reading with
recv_into() into a RECV_SIZE buffer, then answers 200. No HTTP library, no framework, no database.

`application` is the same work as a bare WSGI app (for gunicorn: `--chdir bench raw_sink:application`,
BENCH_SINK_FILE and BENCH_PART in the environment): wsgi.input read in 1 MiB reads, pwrite at the
part's offset. It measures the server's body reading without Django or Filedock.
"""

import os
import socket
import sys


def serve(port: int, data_file: str, part_size: int, recv_size: int) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    buffer = bytearray(recv_size)
    view = memoryview(buffer)
    while True:
        conn, _ = listener.accept()
        with conn:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    pending += chunk
                if b"\r\n\r\n" not in pending:
                    break
                head, pending = pending.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                index = int(lines[0].split()[1].strip("/").rsplit("/", 1)[-1])
                length = next(
                    int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")
                )
                offset = index * part_size
                first, pending = pending[:length], pending[length:]
                fd = os.open(data_file, os.O_WRONLY | os.O_CREAT, 0o644)  # per part, as Filedock does
                try:
                    os.pwrite(fd, first, offset)
                    done = len(first)
                    while done < length:
                        n = conn.recv_into(view, min(recv_size, length - done))
                        if not n:
                            raise ConnectionError("body cut short")
                        os.pwrite(fd, view[:n], offset + done)
                        done += n
                finally:
                    os.close(fd)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def application(environ, start_response):
    if environ["PATH_INFO"] == "/healthz":
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    index = int(environ["PATH_INFO"].strip("/").rsplit("/", 1)[-1])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    offset = index * int(os.environ["BENCH_PART"])
    fd = os.open(os.environ["BENCH_SINK_FILE"], os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        done = 0
        while done < length:
            data = environ["wsgi.input"].read(min(1024 * 1024, length - done))
            if not data:
                raise ConnectionError("body cut short")
            os.pwrite(fd, data, offset + done)
            done += len(data)
    finally:
        os.close(fd)
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
