"""test_embed_models.py — the model-server embedders through the real binary
(ADR 0144): `lakehouse serve` with [embed] url pointing at
fake_model_server.py (a stand-in speaking Ollama's /api/embed and OpenAI's
/v1/embeddings as documented), POST /v1/embed with "ollama/<model>" and
"openai/<model>", the cache across requests, and the errors a client sees
when the server is missing, down, or answers the wrong dimension.
"""
import hashlib
import math
import os
import subprocess
import sys
import unittest

from lhtest import ServerTest, request_json

HERE = os.path.dirname(os.path.abspath(__file__))
DIM = 8
KEY = "test-key"


def expected(text):
    """The fake server's vector for text, normalised (its docstring)."""
    raw = text.encode("utf-8")
    v = [(hashlib.sha256(raw + bytes([j // 32])).digest()[j % 32] - 127.5) / 127.5
         for j in range(DIM)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


class FakeModelServer:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_model_server.py"), "--dim", str(DIM),
             "--api-key", KEY], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), line
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])

    def stats(self):
        st, _, obj = request_json("GET", self.url + "/stats")
        return obj

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()


class EmbedModelsTest(ServerTest):
    def setUp(self):
        self.fake = FakeModelServer()
        self.addCleanup(self.fake.stop)
        self.srv = self.start("serve", env={"LAKEHOUSE_EMBED_URL": self.fake.url,
                                            "LAKEHOUSE_EMBED_API_KEY": KEY,
                                            "LAKEHOUSE_EMBED_TIMEOUT_MS": "2000"})

    def embed(self, texts, embedder):
        return request_json("POST", self.srv.url + "/v1/embed",
                            {"texts": texts, "embedder": embedder})

    def assertClose(self, got, want):
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertAlmostEqual(g, w, places=6)

    def test_ollama_and_openai_vectors_and_cache(self):
        for embedder in ("ollama/nomic-embed-text", "openai/text-embedding-3-small"):
            st, _, obj = self.embed(["forklift operator", "", "caf\u00e9"], embedder)
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["embedder"], embedder)
            self.assertEqual(obj["dimension"], DIM)
            a, empty, c = obj["vectors"]
            self.assertClose(a, expected("forklift operator"))
            self.assertEqual(empty, [0.0] * DIM)
            self.assertClose(c, expected("caf\u00e9"))
        before = self.fake.stats()["requests"]
        # asked again: answered from the cache, the server is not asked
        st, _, obj = self.embed(["forklift operator", "caf\u00e9"], "ollama/nomic-embed-text")
        self.assertEqual(st, 200, obj)
        self.assertEqual(self.fake.stats()["requests"], before)
        # 100 new texts: batches of 64
        texts = ["text %d" % i for i in range(100)]
        st, _, obj = self.embed(texts, "ollama/nomic-embed-text")
        self.assertEqual(st, 200, obj)
        self.assertClose(obj["vectors"][99], expected("text 99"))
        sizes = [b[2] for b in self.fake.stats()["batches"][-2:]]
        self.assertEqual(sizes, [64, 36])

    def test_errors_in_plain_words(self):
        # the probe (at open) learns 8; the text's answer has 9
        st, _, obj = self.embed(["y"], "ollama/wrongdim")
        self.assertError((st, None, obj), 502, "embedder_unavailable")
        self.assertIn("expected %d" % DIM, obj["error"])
        st, _, obj = self.embed(["x"], "ollama/missing")
        self.assertError((st, None, obj), 502, "embedder_unavailable")
        self.assertIn("missing", obj["error"])
        self.assertNotIn("127.0.0.1", obj["error"])
        st, _, obj = self.embed(["x"], "ollama/malformed")
        self.assertError((st, None, obj), 502, "embedder_unavailable")
        self.assertIn("Ollama /api/embed", obj["error"])
        self.fake.stop()
        st, _, obj = self.embed(["z"], "openai/other")
        self.assertError((st, None, obj), 502, "embedder_unavailable")
        self.assertIn("could not be reached", obj["error"])


class EmbedNotConfiguredTest(ServerTest):
    def test_no_url(self):
        srv = self.start("serve")
        st, _, obj = request_json("POST", srv.url + "/v1/embed",
                                  {"texts": ["x"], "embedder": "ollama/m"})
        self.assertError((st, None, obj), 400, "embedder_not_configured")
        self.assertIn("[embed] url", obj["error"])


if __name__ == "__main__":
    unittest.main()
