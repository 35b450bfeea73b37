"""The SQL console's results over HTTP (issue 12 point 4, ADR 0122), and the
UI's icon (point 5, ADR 0123), against `lakehouse serve`:

- a result of more than one page says its total and pages through it (page
  n is the statement as a subquery with LIMIT/OFFSET); the total costs a
  second query only when the first page is not the whole result;
- POST /console/download streams the whole result as CSV, Parquet or JSON
  with Content-Disposition: attachment, only with the page's CSRF token;
  without it, or as a GET, nothing reaches queryd; a failing query is a page
  in words;
- an htmx Run answers HX-Push-Url with the shareable address, a page or a
  chart of the same result HX-Replace-Url; that address (with the chart's
  choice) only fills the editor;
- GET /favicon.ico is our icon.
The browser half is tests/browser/console.test.js."""
import csv
import io
import json
import re
import unittest
from urllib.parse import quote, urlparse, parse_qs

from lhtest import ServerTest, request, request_json
from test_ui_csrf import settled_calls, upstream_calls

ROWS = 2500
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(**fields):
    return "&".join("%s=%s" % (k, quote(str(v), safe="")) for k, v in fields.items())


class TestUiConsole(ServerTest):
    @classmethod
    def setUpClass(cls):
        lines = ["id,name,score"] + ["%d,n%d,%d" % (i, i, i % 97) for i in range(1, ROWS + 1)]
        cls.csv = ("\n".join(lines) + "\n").encode()

    def setUp(self):
        self.srv = self.start("serve")
        st, _, obj = request_json("POST", self.srv.url + "/v1/ingest?name=scores",
                                  body=self.csv, headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        st, hdrs, body = request("GET", self.srv.url + "/console")
        self.assertEqual(st, 200)
        self.token = re.search(r"lh_csrf=([0-9a-f]{64});", hdrs["set-cookie"]).group(1)
        self.cookie = "lh_csrf=" + self.token

    def post(self, path, htmx=False, headers=None, **fields):
        h = dict(FORM, Cookie=self.cookie, **(headers or {}))
        if htmx:
            h["HX-Request"] = "true"
        fields.setdefault("csrf", self.token)
        return request("POST", self.srv.url + path, body=form(**fields), headers=h)

    def queries(self):
        return upstream_calls(self.srv, "queryd", "/query")

    def test_total_and_pages(self):
        sql = "SELECT id, name FROM scores ORDER BY id DESC;  -- newest first"
        before = settled_calls(self.srv, "queryd", "/query")
        st, hdrs, page = self.post("/console", htmx=True, sql=sql)
        self.assertEqual(st, 200, page[:500])
        text = page.decode()
        self.assertIn('data-total="2500"', text)
        self.assertIn('<strong id="result-total">2,500</strong> rows', text)
        self.assertIn("showing 1\u20131,000", text)
        self.assertIn('<span class="meta" id="page-info">Page 1 of 3</span>', text)
        self.assertEqual(len(re.findall(r"<tr><td class=\"num\">", text)), 1000)
        self.assertIn('<td class="num">2500</td>', text)
        # the page and the count: two queries
        self.assertEqual(settled_calls(self.srv, "queryd", "/query", before + 2), before + 2)

        for page_no, first, last, shown in ((2, 1500, 501, "1,001\u20132,000"),
                                            (3, 500, 1, "2,001\u20132,500")):
            st, hdrs, page = self.post("/console", htmx=True, sql=sql, current=1,
                                       page=page_no)
            self.assertEqual(st, 200, page[:500])
            text = page.decode()
            nums = re.findall(r"<tr><td class=\"num\">(\d+)</td>", text)
            self.assertEqual((nums[0], nums[-1]), (str(first), str(last)), page_no)
            self.assertIn("showing " + shown, text)
            self.assertIn("Page %d of 3" % page_no, text)
        # the last page is known to be the last: no Next
        self.assertRegex(text, r'id="page-next" name="page" value="4" disabled')
        # past the end: no rows, the total still said, a way back
        st, _, page = self.post("/console", htmx=True, sql=sql, page=9)
        self.assertEqual(st, 200)
        self.assertIn(b"none on this page", page)
        self.assertIn(b'id="page-first" name="page" value="1">', page)

        # one page: the result is its own total, one query, no pager
        before = settled_calls(self.srv, "queryd", "/query")
        st, _, page = self.post("/console", htmx=True, sql="SELECT count(*) AS n FROM scores")
        self.assertIn(b'<strong id="result-total">1</strong> row \xc2\xb7', page)
        self.assertNotIn(b'id="pager"', page)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query", before + 1), before + 1)

        # without JavaScript: the same, as a whole page
        st, _, page = self.post("/console", sql=sql, page=2)
        self.assertEqual(st, 200)
        self.assertIn(b"<!doctype html>", page)
        self.assertIn(b"Page 2 of 3", page)

    def test_a_total_too_slow_to_count_is_more_than(self):
        """The first page streams at once; counting ten billion rows does not
        finish within LH_UI_COUNT_TIMEOUT_MS (5 s): the page says "more
        than" what it has seen, and Next still works."""
        sql = "SELECT i FROM range(10000000000) t(i) WHERE i % 7 <> 3"
        st, _, page = self.post("/console", htmx=True, sql=sql)
        self.assertEqual(st, 200, page[:500])
        text = page.decode()
        self.assertIn('data-total="-1"', text)
        self.assertIn('<strong id="result-total">more than 1,000</strong> rows', text)
        self.assertIn("the total took too long to count", text)
        self.assertIn('<span class="meta" id="page-info">Page 1</span>', text)
        self.assertNotIn('id="page-last"', text)
        self.assertRegex(text, r'id="page-next" name="page" value="2">')

    def test_download_formats(self):
        sql = "SELECT id, name, score FROM scores ORDER BY id"
        st, hdrs, body = self.post("/console/download", sql=sql, format="csv")
        self.assertEqual(st, 200, body[:300])
        self.assertEqual(hdrs["content-disposition"], 'attachment; filename="query.csv"')
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(rows[0], ["id", "name", "score"])
        self.assertEqual(len(rows), ROWS + 1)   # every row, not a page
        self.assertEqual(rows[-1], [str(ROWS), "n%d" % ROWS, str(ROWS % 97)])

        st, hdrs, body = self.post("/console/download", sql=sql, format="json")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-disposition"], 'attachment; filename="query.json"')
        obj = json.loads(body)
        self.assertEqual(obj["row_count"], ROWS)
        self.assertEqual(obj["rows"][0], [1, "n1", 1])

        st, hdrs, body = self.post("/console/download", sql=sql, format="parquet")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-disposition"], 'attachment; filename="query.parquet"')
        self.assertEqual((body[:4], body[-4:]), (b"PAR1", b"PAR1"))
        self.assertIn(b"score", body[-2000:])   # the footer's schema

        # an error is a page in words, not a file
        st, hdrs, body = self.post("/console/download", sql="SELECT nope FROM scores",
                                   format="csv")
        self.assertEqual(st, 400)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertNotIn("content-disposition", hdrs)
        self.assertIn(b"The query could not run", body)
        self.assertIn(b"nope", body)
        st, _, body = self.post("/console/download", sql=sql, format="xlsx")
        self.assertEqual(st, 400)
        self.assertIn(b"csv, parquet or json", body)

    def test_download_needs_the_token_and_a_post(self):
        sql = "SELECT 4242 AS x"
        before = settled_calls(self.srv, "queryd", "/query")
        wrong = self.token[:-1] + ("1" if self.token[-1] == "0" else "0")
        url = self.srv.url + "/console/download"
        refusals = [
            dict(FORM),                                            # no cookie
            dict(FORM, Cookie=self.cookie),                        # no field
        ]
        for h in refusals:
            st, _, body = request("POST", url, body=form(sql=sql, format="csv"), headers=h)
            self.assertEqual(st, 403)
        for field, extra in ((wrong, {}), (self.token, {"Sec-Fetch-Site": "cross-site"}),
                             (self.token, {"Cookie": self.cookie + "; lh_csrf=" + "1" * 64})):
            st, hdrs, body = request("POST", url,
                                     body=form(sql=sql, format="csv", csrf=field),
                                     headers=dict(dict(FORM, Cookie=self.cookie), **extra))
            self.assertEqual(st, 403, body[:300])
            self.assertNotIn("content-disposition", hdrs)
        # no GET runs SQL
        st, _, _ = request("GET", url + "?sql=" + quote(sql) + "&format=csv")
        self.assertNotEqual(st, 200)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query"), before)
        st, _, body = self.post("/console/download", sql=sql, format="csv")
        self.assertEqual((st, body), (200, b"x\n4242\n"))

    def test_the_address_follows_the_query(self):
        sql = "SELECT name, score FROM scores WHERE name <> 'a & b' LIMIT 5"
        st, hdrs, _ = self.post("/console", htmx=True, sql=sql)
        self.assertEqual(st, 200)
        push = hdrs["hx-push-url"]
        self.assertNotIn("hx-replace-url", hdrs)
        u = urlparse(push)
        self.assertEqual(u.path, "/console")
        self.assertEqual(parse_qs(u.query), {"sql": [sql]})
        # a page or the chart of the same result: the same history entry
        st, hdrs, page = self.post("/console", htmx=True, sql=sql, current=1, chart="none",
                                   x="name", y="score")
        self.assertNotIn("hx-push-url", hdrs)
        q = parse_qs(urlparse(hdrs["hx-replace-url"]).query)
        self.assertEqual(q, {"sql": [sql], "chart": ["none"], "x": ["name"], "y": ["score"]})
        self.assertNotIn(b'id="chart"', page)
        # the choice rides with the next Run (out of band into the editor's form)
        self.assertIn(b'<div id="chart-prefs" hx-swap-oob="true"><input type="hidden" '
                      b'name="chart" value="none">', page)

        # that address fills the editor and the chart's choice, and runs nothing
        before = settled_calls(self.srv, "queryd", "/query")
        st, _, page = request("GET", self.srv.url + hdrs["hx-replace-url"])
        self.assertEqual(st, 200)
        self.assertIn(b">\nSELECT name, score FROM scores WHERE name &lt;&gt; &#39;a &amp; b&#39; "
                      b"LIMIT 5</textarea>", page)
        self.assertIn(b'<div id="chart-prefs"><input type="hidden" name="chart" value="none">'
                      b'<input type="hidden" name="x" value="name"><input type="hidden" '
                      b'name="y" value="score"></div>', page)
        self.assertNotIn(b'id="result"', page)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query"), before)

        # a query too long for an address gets no address, but still runs
        long_sql = "SELECT 1 AS x -- " + "y" * 20000
        st, hdrs, page = self.post("/console", htmx=True, sql=long_sql)
        self.assertEqual(st, 200)
        self.assertNotIn("hx-push-url", hdrs)
        self.assertNotIn(b'id="share-link"', page)
        self.assertIn(b'<td class="num">1</td>', page)

    def test_favicon(self):
        st, hdrs, body = request("GET", self.srv.url + "/favicon.ico")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], "image/x-icon")
        self.assertEqual(body[:4], b"\x00\x00\x01\x00")
        st, hdrs, body = request("GET", self.srv.url + "/static/favicon.svg")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], "image/svg+xml")
        self.assertTrue(body.startswith(b"<svg "))


if __name__ == "__main__":
    unittest.main()
