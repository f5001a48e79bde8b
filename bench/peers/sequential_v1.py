#!/usr/bin/env python3
"""How many sequential requests one real token.place compute node completes in a time window.

    sequential_v1.py --tree DIR --relay URL [--token T] [--seconds 60] [--python PY]

Starts the upstream compute node (server.py from DIR, mock LLM, 127.0.0.1) against the relay,
waits until the relay offers it, then sends chat messages one after another with the upstream
client.py ChatClient (API v1 relay routes) for --seconds and counts the answers that decrypt and
echo their message. Works against any relay URL, so the same command measures this relay and
the upstream relay.py. Nothing from DIR is copied: it is imported and run from where it is.

Prints one JSON object, then `sequential: N completed in S s (relay URL)`. Bounded: the node
is stopped by PID (SIGTERM, then SIGKILL) and a request still running at the end is abandoned.
A failed request is followed by a 1 s pause. Measure relay throughput with the relay's rate
limits raised or off (TOKENPLACE_RATE_LIMIT=0 here; start-upstream-relay.sh raises relay.py's).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlparse


def split_relay(url: str) -> tuple[str, int]:
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.hostname or p.path not in ("", "/"):
        raise SystemExit(f"--relay must be http(s)://host[:port], got {url!r}")
    return f"{p.scheme}://{p.hostname}", p.port or (443 if p.scheme == "https" else 80)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offered_key(requests, relay: str) -> str | None:
    try:
        r = requests.get(relay + "/api/v1/relay/servers/next", timeout=5)
        data = r.json() if r.status_code == 200 else {}
        key = data.get("server_public_key") if isinstance(data, dict) else None
        return key if isinstance(key, str) and key else None
    except Exception:  # noqa: BLE001
        return None


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, help="exported upstream token.place tree (HEAD)")
    ap.add_argument("--relay", required=True, help="relay base URL, e.g. http://127.0.0.1:5010")
    ap.add_argument("--token", default="", help="relay registration token (TOKEN_PLACE_RELAY_SERVER_TOKEN)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--node-wait", type=float, default=60.0)
    ap.add_argument("--python", default=sys.executable, help="interpreter for the upstream node")
    args = ap.parse_args()
    tree = os.path.abspath(args.tree)
    relay = args.relay.rstrip("/")
    base, port = split_relay(relay)
    if not os.path.isfile(os.path.join(tree, "server.py")):
        raise SystemExit(f"{tree} does not look like a token.place tree")

    sys.path.insert(0, tree)
    os.environ.setdefault("TOKEN_PLACE_ENV", "development")
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    import requests
    import client as upstream_client  # upstream client.py (API v1 relay routes at HEAD)

    before = {offered_key(requests, relay) for _ in range(4)} - {None}
    env = dict(os.environ, USE_MOCK_LLM="1", TOKEN_PLACE_ENV="development", PYTHONUNBUFFERED="1", TOKEN_PLACE_RELAY_UPSTREAMS=relay)
    env.pop("TOKEN_PLACE_RELAY_SERVER_TOKEN", None)
    if args.token:
        env["TOKEN_PLACE_RELAY_SERVER_TOKEN"] = args.token
    log = tempfile.NamedTemporaryFile(prefix="tp-seq-node.", suffix=".log", delete=False)
    node = subprocess.Popen(
        [args.python, "server.py", "--use_mock_llm", "--server_host", "127.0.0.1", "--server_port", str(free_port()),
         "--relay_url", base, "--relay_port", str(port)],
        cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    result = {"relay": relay, "seconds": args.seconds, "completed": 0, "failed": 0, "round_trip_s": []}
    try:
        deadline = time.time() + args.node_wait
        while time.time() < deadline:
            key = offered_key(requests, relay)
            if key and key not in before:
                break
            if node.poll() is not None:
                raise SystemExit(f"server.py exited (log {log.name})")
            time.sleep(0.5)
        else:
            raise SystemExit(f"the node never appeared at /api/v1/relay/servers/next (log {log.name})")

        chat = upstream_client.ChatClient(base, port)
        start = time.time()
        end = start + args.seconds
        while time.time() < end:
            nonce = uuid.uuid4().hex[:12]
            chat.chat_history = []
            box: dict = {}

            def one() -> None:
                try:
                    box["reply"] = chat.send_message(f"bench {nonce}")
                except Exception as exc:  # noqa: BLE001
                    box["error"] = type(exc).__name__

            t0 = time.time()
            worker = threading.Thread(target=one, daemon=True)
            worker.start()
            worker.join(timeout=max(0.0, end - time.time()))
            if worker.is_alive():
                break  # still waiting when the window closed: not counted
            reply = box.get("reply")
            ok = (
                isinstance(reply, list) and len(reply) >= 2
                and any(isinstance(m, dict) and nonce in str(m.get("content", "")) for m in reply)
                and isinstance(reply[-1], dict) and reply[-1].get("role") == "assistant"
            )
            result["completed" if ok else "failed"] += 1
            if ok:
                result["round_trip_s"].append(round(time.time() - t0, 3))
            else:
                time.sleep(min(1.0, max(0.0, end - time.time())))  # never hammer a refusing relay
    finally:
        stop(node)
        log.close()
    trips = result["round_trip_s"]
    result["median_round_trip_s"] = sorted(trips)[len(trips) // 2] if trips else None
    result["round_trip_s"] = trips[:10]
    print(json.dumps(result), flush=True)
    print(f"sequential: {result['completed']} completed in {args.seconds:g} s ({relay})", flush=True)
    return 0 if result["completed"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
