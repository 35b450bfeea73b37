/* app.js — the web UI's few enhancements on top of htmx. Every page works
 * without it (ADR 0080): links and forms are plain HTML. Embedded in the
 * binary at build time and served at /static/app.js. */
(function () {
  "use strict";

  /* Pure helpers, also loaded by node's tests (tests/browser/app_helpers.test.js). */

  /* A dataset name from a file's name (ADR 0123), the CLI's rule
   * (cli_name_from_file in src/cli/cli_ingest.c), so `lakehouse ingest FILE`
   * and the upload form name a file alike: the base name without its last
   * extension, letters (case kept), digits and "_" kept, each run of other
   * characters one "_" between kept ones, "_" before a leading digit, at most
   * 64 characters; "" when nothing is left. A name that matches
   * [A-Za-z_][A-Za-z0-9_]{0,63}: "Staff List (2024).csv" -> "Staff_List_2024",
   * "2024-sales.csv" -> "_2024_sales". */
  function datasetNameFromFile(fileName) {
    var base = String(fileName || "").split(/[\\/]/).pop();
    var dot = base.lastIndexOf(".");
    if (dot > 0) base = base.slice(0, dot);
    var out = "", gap = false;
    for (var i = 0; i < base.length; i++) {
      var c = base.charAt(i);
      var digit = c >= "0" && c <= "9";
      if (!digit && !/^[A-Za-z_]$/.test(c)) {
        gap = true;
        continue;
      }
      var sep = (out === "" && digit) || (gap && out !== "" && out.charAt(out.length - 1) !== "_");
      if (out.length + (sep ? 1 : 0) + 1 > 64) break;
      if (sep) out += "_";
      out += c;
      gap = false;
    }
    return out;
  }

  var helpers = { datasetNameFromFile: datasetNameFromFile };
  if (typeof module === "object" && module.exports) module.exports = helpers;
  if (typeof document === "undefined") return;

  /* Picking a file fills in the dataset name, unless the user typed one
   * (or the page came with one: "Upload new version"). */
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input || input.id !== "file" || !input.files || !input.files.length) return;
    var name = document.getElementById("name");
    if (!name) return;
    if (name.value && name.value !== name.getAttribute("data-derived")) return;
    var derived = datasetNameFromFile(input.files[0].name);
    name.value = derived;
    name.setAttribute("data-derived", derived);
  });

  /* Ctrl+Enter (Cmd+Enter on a Mac) in the SQL box runs the query. */
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
    var ta = e.target;
    if (!ta || ta.id !== "sql" || !ta.form) return;
    e.preventDefault();
    if (ta.form.requestSubmit) ta.form.requestSubmit();
    else ta.form.submit();
  });

  /* A dataset chip inserts its name at the cursor (without JS it is a link
   * that opens the console with a query over that dataset). */
  document.addEventListener("click", function (e) {
    var chip = e.target.closest ? e.target.closest("[data-insert]") : null;
    var ta = document.getElementById("sql");
    if (!chip || !ta) return;
    e.preventDefault();
    var text = chip.getAttribute("data-insert");
    var a = ta.selectionStart, b = ta.selectionEnd;
    if (!ta.value.trim()) {
      text = "SELECT * FROM " + text + " LIMIT 100";
      a = 0; b = ta.value.length;
    }
    ta.value = ta.value.slice(0, a) + text + ta.value.slice(b);
    ta.focus();
    ta.selectionStart = ta.selectionEnd = a + text.length;
  });

  /* CSRF (ADR 0111): every htmx request that changes something carries the
   * page's token, which the server also set in the lh_csrf cookie. The
   * forms hold it as a hidden field too, for when this script does not run;
   * the upload's progress bar rides on the same htmx request. */
  document.addEventListener("htmx:configRequest", function (e) {
    var m = document.querySelector('meta[name="csrf-token"]');
    var verb = (e.detail && e.detail.verb || "get").toLowerCase();
    if (m && verb !== "get") e.detail.headers["X-CSRF-Token"] = m.content;
  });

  /* Upload progress: htmx reports the XHR's upload progress. */
  function progress(value, label) {
    var p = document.getElementById("upload-progress");
    var t = document.getElementById("upload-percent");
    if (!p) return;
    p.hidden = value === null;
    if (value !== null) p.value = value;
    if (t) t.textContent = label || "";
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.target && e.target.id === "upload-form") {
      progress(0, "Uploading\u2026");
      var r = document.getElementById("upload-result");
      if (r) r.innerHTML = "";
    }
  });
  document.addEventListener("htmx:xhr:progress", function (e) {
    if (!e.target || e.target.id !== "upload-form") return;
    var d = e.detail;
    if (d && d.lengthComputable && d.total > 0) {
      var pct = Math.round((d.loaded / d.total) * 100);
      progress(pct, pct < 100 ? "Uploading\u2026 " + pct + "%" : "Processing\u2026");
    }
  });
  /* "Done" only for an upload the lakehouse took: a refusal (bad name, bad
   * CSV, a schema drift, an expired form) comes with its 4xx/5xx status and
   * its message below; the bar goes away. */
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!e.target || e.target.id !== "upload-form") return;
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status >= 200 && xhr.status < 300) progress(100, "Done");
    else progress(null, "Not uploaded: see the message below.");
  });
})();
