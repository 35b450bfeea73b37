#!/usr/bin/env python3
"""make_docs.py — documents made by real tools from Debian, for the tests
and the bench of issue 18 (SPEC 15; ADR 0220). Never hand-written bytes:
PDFs are written by Ghostscript's pdfwrite (from PostScript programs this
script generates, many files per gs run), encrypted by qpdf, DOCX by pandoc,
zips by zip/zipnote, Latin-1 by iconv; broken files are cut with head -c.

  make_docs.py --fixtures OUT
      the test set (names below, FIXTURES); a stamp OUT/.done is written last
  make_docs.py --resumes N OUT [--seed S] [--candidates CSV] [--pdf-share F]
      N generated resumes, 1-3 pages each, PDF (share F, default 0.5) and
      DOCX, named resume-00001.pdf ...; OUT/resumes.csv lists file_name,
      candidate_id, full_name, email, skills of each. With --candidates (a
      CSV from build/bench/gen_staffing: candidate_id, full_name, email,
      skills columns) resume i is about candidate row i, so the text holds
      that candidate's name and email and a SQL join finds it; without, the
      same name lists and email scheme as gen_staffing (<f><l>.x<id>@example.com).

Deterministic: the same arguments give the same texts (seeded PRNG; the
files' bytes may differ in timestamps the tools embed).
Tools: gs (ghostscript), qpdf, pandoc, zip, zipnote, iconv, head.
"""
import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile

FIXTURES = """
  text-1p.pdf text-2p.pdf text-3p.pdf  text PDFs; page N says "marker-pN" and "Müller"
  pages-500.pdf                         500 pages, page N says "page N of 500"
  image-only.pdf                        drawings only, no text (ps2pdf)
  encrypted.pdf                         text-1p.pdf with a user password (qpdf, AES-256)
  owner-only.pdf                        text-1p.pdf with an owner password only: readable
  truncated.pdf                         the first half of text-3p.pdf
  not-a-pdf.pdf                         a text file called .pdf
  resume.docx                           pandoc from resume.md (headings, list, table)
  corrupt.docx                          the first half of resume.docx
  bomb.docx                             a zip whose word/document.xml is 200 MiB of zeros
  no-text.docx                          pandoc from an empty document
  page.html, latin1.html                HTML with head/script/style; the second in ISO-8859-1
  notes.md, utf8.txt, latin1.txt        Markdown and text; latin1.txt by iconv
"""

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Isabel", "Jamal", "Kai",
         "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Zoë"]
LAST = ["Smith", "García", "Nguyen", "O'Brien", "Kowalski", "Okafor", "Müller", "Tanaka", "Silva",
        "Haddad", "Johnson", "Rossi", "Andersson", "Patel", "Cohen", "Dubois"]
SKILLS = ["Java", "SQL", "Python", "forklift", "CDL-A", "Excel", "nursing", "welding", "C#", "React",
          "payroll", "HVAC", "customer service", "AWS", "bookkeeping", "Spanish"]
EMPLOYERS = ["Acme Logistics", "Northwind Health", "Contoso Manufacturing", "Globex Retail",
             "Initech Software", "Umbrella Staffing", "Stark Industrial", "Wayne Freight"]
ROLES = ["Warehouse Associate", "Registered Nurse", "Software Engineer", "Data Analyst", "Welder",
         "Payroll Specialist", "HVAC Technician", "Customer Service Lead", "Truck Driver", "Bookkeeper"]
VERBS = ["Led", "Built", "Improved", "Managed", "Trained", "Reduced", "Automated", "Coordinated"]
OBJECTS = ["the night shift team of twelve", "inventory accuracy to 99.8 percent", "a reporting pipeline in SQL",
           "onboarding for new hires", "weekly payroll for 300 staff", "preventive maintenance schedules",
           "patient intake across two clinics", "route planning for regional deliveries",
           "customer escalations with a same-day policy", "month-end close from ten days to six"]


def run(*cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


# ---- PostScript: one program, many PDFs (pdfwrite switches OutputFile) ----

def ps_string(text):
    """A PostScript string literal of text in ISO-8859-1 (our font's encoding)."""
    out = []
    for ch in text.encode("latin-1", "replace"):
        c = chr(ch)
        if c in "()\\":
            out.append("\\" + c)
        elif ch < 32 or ch > 126:
            out.append("\\%03o" % ch)
        else:
            out.append(c)
    return "(" + "".join(out) + ")"


PS_HEAD = """%!PS
/F /Helvetica findfont dup length dict begin
  { 1 index /FID ne { def } { pop pop } ifelse } forall
  /Encoding ISOLatin1Encoding 256 array copy dup 45 /hyphen put dup 39 /quotesingle put
  dup 96 /grave put def
  currentdict end /HelvL1 exch definefont pop
/L { /HelvL1 findfont 10 scalefont setfont moveto show } bind def
"""

LINES_PER_PAGE = 60


def ps_document(path, pages):
    """PostScript that makes `path` from pages (each a list of lines)."""
    out = ["<< /OutputFile %s /PageSize [612 792] >> setpagedevice" % ps_string(path)]
    for lines in pages:
        y = 740
        for line in lines:
            if line:
                out.append("%s 60 %d L" % (ps_string(line), y))
            y -= 11
        out.append("showpage")
    return "\n".join(out) + "\n"


def gs_pdfs(docs, outdir):
    """Write every (path, pages) of docs with one Ghostscript run."""
    if not docs:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ps", delete=False, encoding="latin-1") as f:
        f.write(PS_HEAD)
        for path, pages in docs:
            f.write(ps_document(os.path.abspath(path), pages))
        ps = f.name
    try:
        # the first OutputFile is a throwaway: each document sets its own
        first = os.path.join(os.path.abspath(outdir), ".gs-first.pdf")
        run("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER",
            "--permit-file-write=%s/" % os.path.abspath(outdir),
            "-sDEVICE=pdfwrite", "-sOutputFile=" + first, ps)
        if os.path.exists(first):
            os.unlink(first)
    finally:
        os.unlink(ps)


def wrap(text, width=95):
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    if cur:
        lines.append(cur)
    return lines


def paginate(lines):
    return [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]


# ---- the fixtures -------------------------------------------------------

def fixtures(out):
    os.makedirs(out, exist_ok=True)
    done = os.path.join(out, ".done")
    if os.path.exists(done):
        os.unlink(done)
    p = lambda name: os.path.join(out, name)
    docs = []
    for n in (1, 2, 3):
        pages = []
        for k in range(1, n + 1):
            lines = ["Jane Müller - page %d - marker-p%d" % (k, k), ""]
            lines += wrap("Experienced data analyst with SQL and Python. " * 6)
            lines += ["", "Second paragraph of page %d: warehouse, forklift, payroll." % k]
            pages.append(lines)
        docs.append((p("text-%dp.pdf" % n), pages))
    docs.append((p("pages-500.pdf"),
                 [["page %d of 500" % k, ""] + wrap("Filler text for a long document. " * 20)
                  for k in range(1, 501)]))
    gs_pdfs(docs, out)
    # drawings only, through ps2pdf as a person would
    with tempfile.NamedTemporaryFile("w", suffix=".ps", delete=False) as f:
        f.write("%!PS\n")
        for k in range(2):
            f.write("newpath 100 100 moveto 500 700 lineto 5 setlinewidth stroke\n"
                    "0.5 setgray 150 300 200 150 rectfill showpage\n")
        ps = f.name
    try:
        run("ps2pdf", ps, p("image-only.pdf"))
    finally:
        os.unlink(ps)
    run("qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", p("text-1p.pdf"), p("encrypted.pdf"))
    run("qpdf", "--encrypt", "", "owner-secret", "256", "--", p("text-1p.pdf"), p("owner-only.pdf"))
    head_half(p("text-3p.pdf"), p("truncated.pdf"))
    with open(p("not-a-pdf.pdf"), "w") as f:
        f.write("just some words, not a PDF\n")

    md = ("# Jane Müller\n\njane.muller@example.com · Boston, MA\n\n"
          "## Skills\n\n- SQL\n- Python\n- forklift\n\n"
          "## Experience\n\nData Analyst at **Acme Logistics**, 2019-2024. Built a reporting\n"
          "pipeline in SQL.\n\n"
          "| Year | Role |\n|------|------|\n| 2018 | Intern |\n\n"
          "Tabs\tand line  \nbreaks kept.\n\n```{=openxml}\n<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>\n```\n\n"
          "After the page break: marker-docx-end.\n\n"
          "```{=openxml}\n<w:p><w:r><w:t>Left</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>Right</w:t></w:r>"
          "<w:del w:id=\"90\" w:author=\"a\"><w:r><w:delText>deleted-marker</w:delText></w:r></w:del></w:p>\n```\n")
    with open(p("resume.md"), "w") as f:
        f.write(md)
    run("pandoc", p("resume.md"), "-o", p("resume.docx"))
    head_half(p("resume.docx"), p("corrupt.docx"))
    with open(p("empty.md"), "w") as f:
        f.write("\n")
    run("pandoc", p("empty.md"), "-f", "markdown", "-o", p("no-text.docx"))
    os.unlink(p("empty.md"))
    bomb(p("bomb.docx"), 200)

    html = ("<!DOCTYPE html>\n<html><head><title>Title is dropped</title>\n"
            "<style>body { color: red } .hidden-style-marker {}</style>\n"
            "<script>var hiddenScriptMarker = '<p>not text</p>';</script></head>\n"
            "<body><h1>Jane   Müller</h1><p>Data&nbsp;analyst &amp; SQL<br>expert.</p>\n"
            "<div>First block<div>nested block</div>tail</div>\n"
            "<ul><li>item one</li><li>item two</li></ul>\n"
            "<noscript>noscript-marker</noscript><table><tr><td>cell a</td><td>cell b</td></tr></table>\n"
            "<p>caf\u00e9 <b>bold</b><i>italic</i> end</p></body></html>\n")
    with open(p("page.html"), "w", encoding="utf-8") as f:
        f.write(html)
    with open(p("latin1-src.html"), "w", encoding="utf-8") as f:
        f.write(html.replace("<head>", '<head><meta charset="iso-8859-1">'))
    iconv(p("latin1-src.html"), p("latin1.html"))
    with open(p("notes.md"), "w", encoding="utf-8") as f:
        f.write("# Notes\n\n*Emphasis* stays, as do `code` and [links](http://x).\n\n- one\n- two\n")
    with open(p("utf8.txt"), "w", encoding="utf-8") as f:
        f.write("René Müller, café, naïve\r\n\r\nSecond paragraph.\r\n")
    iconv(p("utf8.txt"), p("latin1.txt"))
    for tmp in ("latin1-src.html",):
        os.unlink(p(tmp))
    open(done, "w").close()


def head_half(src, dst):
    size = os.path.getsize(src)
    with open(dst, "wb") as f:
        run("head", "-c", str(size // 2), src, stdout=f)


def iconv(src, dst):
    with open(dst, "wb") as f:
        run("iconv", "-f", "UTF-8", "-t", "ISO-8859-1", src, stdout=f)


def bomb(path, mib):
    """zip of MiB zeros read from stdin, the entry renamed word/document.xml."""
    if os.path.exists(path):
        os.unlink(path)
    head = subprocess.Popen(["head", "-c", "%dM" % mib, "/dev/zero"], stdout=subprocess.PIPE)
    run("zip", "-q", "-9", path, "-", stdin=head.stdout)
    head.wait()
    run("zipnote", "-w", path, input=b"@ -\n@=word/document.xml\n")


# ---- resumes ------------------------------------------------------------

def candidates_from(path, n):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append({"id": row["candidate_id"], "name": row["full_name"], "email": row["email"],
                         "skills": [s for s in row.get("skills", "").split(",") if s]})
            if len(rows) == n:
                break
    if len(rows) < n:
        sys.exit("make_docs: %s has %d candidates, %d asked for" % (path, len(rows), n))
    return rows


def candidates_made(rng, n):
    rows = []
    for i in range(1, n + 1):
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        rows.append({"id": str(i), "name": "%s %s" % (fn, ln),
                     "email": "%s%s.x%d@example.com" % (fn[0].lower(), ln[0].lower(), i),
                     "skills": rng.sample(SKILLS, 1 + rng.randrange(4))})
    return rows


def resume_text(rng, c, pages):
    """Paragraphs of a resume that fills about `pages` pages of 60 lines."""
    paras = [("name", c["name"]), ("p", "%s · +1 617 555 %04d" % (c["email"], rng.randrange(10000))),
             ("h", "Summary"),
             ("p", "%s with %d years of experience. Skills: %s." %
              (rng.choice(ROLES), 2 + rng.randrange(20), ", ".join(c["skills"] or ["Excel"])))]
    paras.append(("h", "Experience"))
    target_lines = pages * LINES_PER_PAGE - 30
    lines = 8
    year = 2024
    while lines < target_lines:
        role, emp = rng.choice(ROLES), rng.choice(EMPLOYERS)
        start = year - 1 - rng.randrange(4)
        paras.append(("h2", "%s, %s (%d-%d)" % (role, emp, start, year)))
        body = " ".join("%s %s." % (rng.choice(VERBS), rng.choice(OBJECTS)) for _ in range(4 + rng.randrange(5)))
        paras.append(("p", body))
        lines += 3 + len(wrap(body))
        year = start
    paras += [("h", "Education"), ("p", "B.S., State University, %d" % (year - 4))]
    return paras


def resumes(n, out, seed, cand_csv, pdf_share):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    cands = candidates_from(cand_csv, n) if cand_csv else candidates_made(rng, n)
    pdfs, docx_jobs, listing = [], [], []
    for i, c in enumerate(cands, 1):
        pages = 1 + rng.randrange(3)
        paras = resume_text(rng, c, pages)
        is_pdf = rng.random() < pdf_share
        name = "resume-%05d.%s" % (i, "pdf" if is_pdf else "docx")
        listing.append((name, c["id"], c["name"], c["email"], ",".join(c["skills"])))
        if is_pdf:
            lines = []
            for kind, text in paras:
                lines += ([text.upper()] if kind == "h" else wrap(text)) + [""]
            pdfs.append((os.path.join(out, name), paginate(lines)))
        else:
            md = "".join(("# %s\n\n" if k in ("h", "name") else "## %s\n\n" if k == "h2" else "%s\n\n") % t
                         for k, t in paras)
            docx_jobs.append((os.path.join(out, name), md))
    # PDFs: one gs run per 200 files (memory stays small); DOCX: pandoc, one per file, in parallel
    for k in range(0, len(pdfs), 200):
        gs_pdfs(pdfs[k:k + 200], out)
    procs = []
    for path, md in docx_jobs:
        p = subprocess.Popen(["pandoc", "-f", "markdown", "-o", path], stdin=subprocess.PIPE)
        p.stdin.write(md.encode("utf-8"))
        p.stdin.close()
        procs.append(p)
        if len(procs) >= (os.cpu_count() or 2):
            if procs.pop(0).wait() != 0:
                sys.exit("make_docs: pandoc failed")
    for p in procs:
        if p.wait() != 0:
            sys.exit("make_docs: pandoc failed")
    with open(os.path.join(out, "resumes.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "candidate_id", "full_name", "email", "skills"])
        w.writerows(listing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="fixtures:" + FIXTURES)
    ap.add_argument("--fixtures", metavar="OUT", help="write the test set into OUT")
    ap.add_argument("--resumes", nargs=2, metavar=("N", "OUT"), help="write N resumes into OUT")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--candidates", metavar="CSV", help="gen_staffing CSV: resume i is about row i")
    ap.add_argument("--pdf-share", type=float, default=0.5)
    a = ap.parse_args()
    for tool in ("gs", "ps2pdf", "qpdf", "pandoc", "zip", "zipnote", "iconv"):
        if not shutil.which(tool):
            sys.exit("make_docs: %s is missing (scripts/bootstrap.sh installs it)" % tool)
    if a.fixtures:
        fixtures(a.fixtures)
    elif a.resumes:
        resumes(int(a.resumes[0]), a.resumes[1], a.seed, a.candidates, a.pdf_share)
    else:
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
