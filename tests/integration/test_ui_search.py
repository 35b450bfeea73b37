"""The web UI's Search page over HTTP against `lakehouse serve` (issue 13
point 7, ADR 0151): GET /search runs a search only without a filter (a
filter is SQL, and no GET runs SQL a request chose: ADR 0111), POST /search
needs the page's CSRF token and then runs everything, htmx gets the result
area and the search's address, errors come in words (no index with the
command that declares one, a bad filter, an unknown dataset), a row's HTML
stays text while the highlight's <mark> is markup, the index state panel
and its polling, the dataset page's search box, and a read token may search.
The browser half is tests/browser/search.test.js."""
import re
import time
import unittest
from urllib.parse import quote

from lhtest import ServerTest, request, request_json
from test_ui_csrf import EXPIRED, settled_calls, upstream_calls

PEOPLE = """worker_id,full_name,title,skills,notes,state
1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI
2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years,IL
3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI
4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA
5,Eve Kim,Warehouse Associate,picking; packing; forklift,"<script>alert(1)</script> forklift <img src=x onerror=alert(2)>",WI
6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist assistant in a family practice,MN
"""
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
READ, WRITE = "read-token-123", "write-token-456"


class UiSearchBase(ServerTest):
    env = {}
    auth = None   # the bearer token every request of the test sends

    def setUp(self):
        self.srv = self.start("serve", env=self.env)
        self.url = self.srv.url

    def headers(self, extra=None):
        h = dict(extra or {})
        if self.auth:
            h["Authorization"] = "Bearer " + self.auth
        return h

    def ingest(self, name, csv):
        h = self.headers({"Content-Type": "text/csv"})
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=" + name, csv, h)
        self.assertIn(st, (200, 201), obj)

    def declare(self, name):
        h = self.headers()
        st, _, obj = request_json("PUT", self.url + "/v1/catalog/index/" + name,
                                  {"text": ["title", "skills", "notes"], "id": "worker_id"}, h)
        self.assertIn(st, (200, 201), obj)
        deadline = time.time() + 90
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.url + "/v1/catalog/index/" + name,
                                      headers=h)
            if all(v["state"] == "ready" for v in obj["versions"]):
                return obj
            time.sleep(0.1)
        self.fail("never ready: %r" % obj)

    def get(self, path, extra=None):
        return request("GET", self.url + path, headers=self.headers(extra))

    def page_token(self):
        st, hdrs, body = self.get("/search")
        self.assertEqual(st, 200, body[:300])
        token = re.search(r"lh_csrf=([0-9a-f]{64});", hdrs["set-cookie"]).group(1)
        self.assertIn(('<input type="hidden" name="csrf" value="%s">' % token).encode(), body)
        return "lh_csrf=" + token, token

    def post(self, form, extra=None):
        return request("POST", self.url + "/search", body=form,
                       headers=self.headers(dict(FORM, **(extra or {}))))


class TestUiSearch(UiSearchBase):
    def ready(self):
        self.ingest("people", PEOPLE)
        self.declare("people")

    def ranks(self, body):
        """worker_id of each result row, in order: the id is the first row
        column, after #, score and (hybrid) the two rankings' ranks."""
        at = 4 if b'title="Rank by meaning' in body else 2
        rows = re.findall(rb'<tr data-rank="\d+">((?:(?!</tr>).)*)</tr>', body)
        return [int(re.findall(rb"<td[^>]*>((?:(?!</td>).)*)</td>", r)[at]) for r in rows]

    def test_get_runs_a_search_only_without_a_filter(self):
        self.ready()
        before = upstream_calls(self.srv, "queryd", "/search")
        st, _, body = self.get("/search?dataset=people&q=forklift%20operator")
        self.assertEqual(st, 200, body[:500])
        self.assertIn(b'<a href="/search" class="active" aria-current="page">Search</a>', body)
        self.assertIn(b'id="search-results"', body)
        self.assertIn(b'<td class="hl" data-column="title"><mark>Forklift</mark> '
                      b'<mark>Operator</mark></td>', body)
        self.assertIn(b"hybrid search of <strong>people@1</strong>", body)
        self.assertIn(b'<span id="search-unindexed">all indexed</span>', body)
        self.assertEqual(self.ranks(body)[:2], [1, 5])
        # the index state: version 1 ready, searched, nothing left to poll
        self.assertIn(b'<tr data-version="1" data-state="ready" class="current">', body)
        self.assertNotIn(b"hx-trigger=\"every 2s\"", body)
        self.assertEqual(settled_calls(self.srv, "queryd", "/search", before + 1), before + 1)

        # a filter came with the link: the form is filled, nothing runs
        where = quote("state = 'WI'")
        for extra in ({}, {"HX-Request": "true"}):
            st, _, body = self.get("/search?dataset=people&q=nurse&mode=text&where=" + where,
                                   extra)
            self.assertEqual(st, 200)
            self.assertIn(b'id="search-fill-hint"', body)
            self.assertIn(b'value="state = &#39;WI&#39;"', body)
            self.assertIn(b'<option value="text" selected>', body)
            self.assertNotIn(b'id="search-results"', body)
            self.assertIn(b'id="index-state"', body)
        self.assertEqual(settled_calls(self.srv, "queryd", "/search"), before + 1)
        # no query: the form and the index state, no search
        st, _, body = self.get("/search?dataset=people")
        self.assertIn(b'id="index-state"', body)
        self.assertNotIn(b'id="search-results"', body)
        self.assertEqual(settled_calls(self.srv, "queryd", "/search"), before + 1)

    def test_post_needs_the_token_and_runs_the_filter(self):
        self.ready()
        cookie, token = self.page_token()
        before = upstream_calls(self.srv, "queryd", "/search")
        form = "dataset=people&q=nurse&mode=hybrid&k=10&where=" + quote("state = 'WI'")
        wrong = token[:-1] + ("1" if token[-1] == "0" else "0")
        for headers, body in (({}, form), ({"Cookie": cookie}, form),
                              ({}, form + "&csrf=" + token),
                              ({"Cookie": cookie}, form + "&csrf=" + wrong)):
            for htmx in ({}, {"HX-Request": "true"}):
                st, _, page = self.post(body, dict(headers, **htmx))
                self.assertEqual(st, 403, page[:300])
                self.assertIn(EXPIRED, page)
                self.assertNotIn(b'id="search-results"', page)
        st, _, page = self.post(form + "&csrf=" + token,
                                {"Cookie": cookie, "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 403)
        self.assertEqual(settled_calls(self.srv, "queryd", "/search"), before)

        # the page's form: the filter applies before ranking (3 rows in WI)
        st, _, page = self.post(form + "&csrf=" + token, {"Cookie": cookie})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b"<!doctype html>", page)
        self.assertIn(b'data-results="3" data-searched="3"', page)
        self.assertEqual(sorted(self.ranks(page)), [1, 3, 5])
        # htmx: the result area only, and the search's address for the bar
        st, hdrs, frag = self.post(form, {"Cookie": cookie, "X-CSRF-Token": token,
                                          "HX-Request": "true"})
        self.assertEqual(st, 200)
        self.assertTrue(frag.startswith(b'<div id="search-output">'), frag[:100])
        self.assertNotIn(b"<html", frag)
        self.assertEqual(hdrs["hx-push-url"], "/search?dataset=people&q=nurse&mode=hybrid&k=10"
                                              "&where=state%20%3D%20%27WI%27")
        self.assertEqual(settled_calls(self.srv, "queryd", "/search", before + 2), before + 2)

    def test_errors_in_words(self):
        self.ready()
        self.ingest("plain", PEOPLE)
        cookie, token = self.page_token()
        # no index: how to declare one, with the dataset's text columns
        st, _, page = self.get("/search?dataset=plain&q=nurse")
        self.assertEqual(st, 409)
        self.assertIn(b'id="no-index"', page)
        self.assertIn(b"lakehouse index plain --text full_name,title,skills,notes,state</pre>",
                      page)
        self.assertIn(b"PUT /v1/catalog/index/plain", page)
        st, _, page = self.get("/search?dataset=plain")   # just looking: not an error
        self.assertEqual(st, 200)
        self.assertIn(b'id="no-index"', page)
        # a bad filter: DuckDB's words under a title that says it was the filter
        st, _, page = self.post("dataset=people&q=nurse&where=nope%20%3D%201&csrf=" + token,
                                {"Cookie": cookie})
        self.assertEqual(st, 400)
        self.assertIn(b"The filter could not be used. The database says:", page)
        self.assertIn(b"nope", page)
        st, _, page = self.post("dataset=people&q=nurse&where=" + quote("1=1; SELECT 2") +
                                "&csrf=" + token, {"Cookie": cookie})
        self.assertEqual(st, 400)
        self.assertIn(b'data-code="bad_where"', page)
        st, _, page = self.post("dataset=people&q=nurse&where=" +
                                quote("getenv('HOME') = ''") + "&csrf=" + token,
                                {"Cookie": cookie})
        self.assertEqual(st, 400)
        self.assertIn(b'data-code="forbidden_function"', page)
        for path, status, words in (
                ("/search?dataset=nobody&q=x", 404, b"nobody"),
                ("/search?dataset=bad%20name&q=x", 400, b"name@VERSION"),
                ("/search?dataset=people@9&q=x", 404, b"version"),
                ("/search?dataset=people&q=x&k=0", 400, b"whole number"),
                ("/search?dataset=people&q=x&mode=fuzzy", 400, b"mode"),
                ("/search?dataset=people&q=" + "x" * 5000, 400, b"query"),
                ("/search?dataset=people&q=caf%E9", 400, b"UTF-8"),
                ("/search?dataset=people&q=x&mode=%FF", 400, b"UTF-8")):
            st, _, page = self.get(path)
            self.assertEqual(st, status, (path, page[-800:]))
            self.assertIn(b'class="alert alert-error"', page, path)
            self.assertIn(words, page, path)
        # a query that finds nothing: said
        st, _, page = self.get("/search?dataset=people&q=zebra&mode=text")
        self.assertEqual(st, 200)
        self.assertIn(b'id="search-empty"', page)

    def test_row_html_stays_text_and_only_mark_is_markup(self):
        self.ready()
        st, _, page = self.get("/search?dataset=people&q=forklift&mode=text")
        self.assertEqual(st, 200)
        self.assertIn(b"&lt;script&gt;alert(1)&lt;/script&gt; <mark>forklift</mark> "
                      b"&lt;img src=x onerror=alert(2)&gt;", page)
        self.assertNotIn(b"<script>alert", page)
        self.assertNotIn(b"<img src=x", page)
        # the dataset page's own preview escapes it too, and has the search box
        st, _, page = self.get("/datasets/people")
        self.assertIn(b'<form class="search dataset-search" id="dataset-search" method="get" '
                      b'action="/search" role="search"><input type="hidden" name="dataset" '
                      b'value="people">', page)
        st, _, page = self.get("/datasets/people?version=1")
        self.assertIn(b'name="dataset" value="people@1">', page)
        st, _, page = self.get("/search?dataset=people@1&q=welder")
        self.assertEqual(st, 200)
        self.assertIn(b'<option value="people@1" selected>people@1</option>', page)
        self.assertIn(b"search of <strong>people@1</strong>", page)

    def test_index_state_polls_while_a_version_is_not_built(self):
        self.ready()
        # htmx asks for the panel (the select's change, or the panel itself)
        st, _, frag = self.get("/search?dataset=people&part=state", {"HX-Request": "true"})
        self.assertEqual(st, 200)
        self.assertTrue(frag.startswith(b'<div id="search-output"><section class="card '
                                        b'index-state" id="index-state">'), frag[:200])
        self.assertIn(b"<progress max=\"6\" value=\"6\"></progress> <span class=\"meta\">6 of 6",
                      frag)
        # a new version: until it is built the panel asks for itself again
        h = {"Content-Type": "text/csv"}
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=people&mode=append",
                                  "worker_id,full_name,title,skills,notes,state\n"
                                  "7,Gus Ray,Forklift Operator,forklift,Reach truck,TX\n", h)
        self.assertIn(st, (200, 201), obj)
        deadline = time.time() + 90
        while time.time() < deadline:
            st, _, frag = self.get("/search?dataset=people&part=state", {"HX-Request": "true"})
            m = re.search(rb'<tr data-version="2" data-state="(\w+)"', frag)
            self.assertTrue(m, frag)
            if m.group(1) != b"ready":
                self.assertIn(b'hx-get="/search?dataset=people&amp;part=state" '
                              b'hx-trigger="every 2s" hx-select="#index-state"', frag)
                self.assertIn(b'id="index-busy"', frag)
            else:
                self.assertNotIn(b"hx-trigger", frag)
                break
            time.sleep(0.05)
        # (a 1-row build may be over before the first look: then only the
        # ready panel, which stops asking, is checked)
        self.assertEqual(m.group(1), b"ready")


class TestUiSearchReadToken(UiSearchBase):
    env = {"LAKEHOUSE_AUTH_READ_TOKENS": READ, "LAKEHOUSE_AUTH_WRITE_TOKENS": WRITE}
    auth = READ

    def test_a_read_token_may_search(self):
        self.auth = WRITE   # to load the data
        self.ingest("people", PEOPLE)
        self.declare("people")
        self.auth = READ
        st, _, page = self.get("/search?dataset=people&q=welder")
        self.assertEqual(st, 200, page[:300])
        self.assertIn(b'id="search-results"', page)
        cookie, token = self.page_token()
        st, _, page = self.post("dataset=people&q=welder&where=" + quote("state = 'WI'") +
                                "&csrf=" + token, {"Cookie": cookie})
        self.assertEqual(st, 200, page[:300])
        self.assertIn(b'data-results="', page)
        # without a token: refused before the page
        st, _, _ = request("GET", self.url + "/search?dataset=people&q=welder")
        self.assertEqual(st, 401)


if __name__ == "__main__":
    unittest.main()
