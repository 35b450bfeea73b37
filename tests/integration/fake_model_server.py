#!/usr/bin/env python3
"""fake_model_server.py — a stand-in embedding model server for the tests
of the "ollama/<model>" and "openai/<model>" embedders (ADR 0144): neither
Ollama nor llama.cpp can be installed on the build machines, so this speaks
the two wire protocols as their documentation gives them:

  Ollama  POST /api/embed       {"model": m, "input": "..." | ["...", ...]}
          -> 200 {"model": m, "embeddings": [[...], ...], "total_duration",
                  "load_duration", "prompt_eval_count"}
          errors: {"error": "<message>"} (404 "model 'x' not found, try
          pulling it first")
          https://github.com/ollama/ollama/blob/main/docs/api.md#generate-embeddings
  OpenAI  POST /v1/embeddings   {"model": m, "input": "..." | ["...", ...]}
          -> 200 {"object": "list", "data": [{"object": "embedding",
                  "embedding": [...], "index": i}, ...], "model": m,
                  "usage": {"prompt_tokens", "total_tokens"}}
          errors: {"error": {"message", "type", "param", "code"}}; an empty
          string input is a 400; a wrong bearer key a 401.
          https://platform.openai.com/docs/api-reference/embeddings/create

A text's vector is deterministic so tests can recompute it: for j < dim,
b = sha256(utf8(text) + bytes([j // 32]))[j % 32], v[j] = (b - 127.5) / 127.5
(not unit length: the client must normalise).

The model name chooses a behaviour: "wrongdim" (the first request gets dim
vectors, later ones dim + 1), "malformed" (200 with a body that is not
JSON), "flaky" (odd-numbered requests to it answer 503), "down" (always
503), "missing" (404 as the server says it), "slow" (sleeps --slow-ms
first), "reversed" (OpenAI: data items in reverse order, each with its
index), "badindex" (OpenAI: index 0 twice), "text" (a string among the
numbers). Anything else is a normal model.

GET /stats -> {"requests": n, "batches": [[path, model, n_inputs], ...]};
POST /reset zeroes them. Usage: fake_model_server.py [--port 0] [--dim 8]
[--api-key K] [--slow-ms 2000]; prints "PORT <n>" on stdout when ready.
Python 3 standard library only.
"""
import argparse
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
STATS = {"requests": 0, "batches": []}
PER_MODEL = {}


def vector(text, dim):
    raw = text.encode("utf-8")
    out = []
    for j in range(dim):
        b = hashlib.sha256(raw + bytes([j // 32])).digest()[j % 32]
        out.append((b - 127.5) / 127.5)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # quiet
        pass

    def send(self, status, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up (its time-out test)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                self.send(200, STATS)
        else:
            self.send(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if self.path == "/reset":
            with LOCK:
                STATS["requests"] = 0
                STATS["batches"] = []
                PER_MODEL.clear()
            return self.send(200, {})
        openai = self.path == "/v1/embeddings"
        if self.path not in ("/api/embed", "/v1/embeddings"):
            return self.send(404, {"error": "404 page not found"} if not openai else None,
                             raw=b"404 page not found")

        def error(status, msg, typ="invalid_request_error"):
            if openai:
                return self.send(status, {"error": {"message": msg, "type": typ,
                                                    "param": None, "code": None}})
            return self.send(status, {"error": msg})

        try:
            req = json.loads(body)
        except ValueError:
            return error(400, "invalid JSON body")
        model = req.get("model") if isinstance(req, dict) else None
        inp = req.get("input") if isinstance(req, dict) else None
        if not isinstance(model, str) or not model:
            return error(400, "model is required")
        if isinstance(inp, str):
            inp = [inp]
        if not isinstance(inp, list) or not all(isinstance(t, str) for t in inp):
            return error(400, "input must be a string or an array of strings")
        with LOCK:
            STATS["requests"] += 1
            STATS["batches"].append([self.path, model, len(inp)])
            count = PER_MODEL.get(model, 0) + 1
            PER_MODEL[model] = count
        if openai and ARGS.api_key and self.headers.get("Authorization") != "Bearer " + ARGS.api_key:
            return error(401, "Incorrect API key provided", "invalid_request_error")
        if openai and any(t == "" for t in inp):
            return error(400, "'$.input' is invalid. Please check the API reference")
        if model == "missing":
            if openai:
                return error(404, "The model `missing` does not exist")
            return error(404, "model 'missing' not found, try pulling it first")
        if model == "down" or (model == "flaky" and count % 2 == 1):
            return error(503, "server busy", "server_error")
        if model == "malformed":
            return self.send(200, raw=b"{\"embeddings\": [[0.1, 0.2")
        if model == "slow":
            time.sleep(ARGS.slow_ms / 1000.0)
        dim = ARGS.dim + (1 if model == "wrongdim" and count > 1 else 0)
        vecs = [vector(t, dim) for t in inp]
        if model == "text":
            vecs[0][0] = "0.5"
        if not openai:
            return self.send(200, {"model": model, "embeddings": vecs, "total_duration": 1000,
                                   "load_duration": 100, "prompt_eval_count": len(inp)})
        data = [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vecs)]
        if model == "reversed":
            data.reverse()
        if model == "badindex" and len(data) > 1:
            data[1]["index"] = 0
        return self.send(200, {"object": "list", "data": data, "model": model,
                               "usage": {"prompt_tokens": len(inp), "total_tokens": len(inp)}})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--api-key", default="")
    p.add_argument("--slow-ms", type=int, default=2000)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
